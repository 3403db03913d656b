export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG_INVALID'
  readonly problems: Array<{ path: string, message: string }>
  constructor (source: string, problems: Array<{ path: string, message: string }>) {
    super(`${source}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}
