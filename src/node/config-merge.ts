// createNode({ config }) takes any part of the configuration: what is given is laid over the
// defaults and the result is checked exactly as souk.yaml is (resolveConfig), so a typo fails
// with a ConfigError naming its path instead of starting a node that quietly lacks a role.
import { resolveConfig, ConfigError } from '../config/index.ts'
import { QUANTITY_SETTINGS } from '../config/units.ts'
import type { SoukConfig } from '../config/index.ts'

/** Any part of a value: objects' keys optional at every depth; lists and scalars whole. */
export type DeepPartial<T> = T extends ReadonlyArray<infer _U>
  ? T
  : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T

/** The configuration `createNode` accepts: any part of SoukConfig. */
export type SoukConfigInput = DeepPartial<SoukConfig>

/**
 * Defaults, then `input` (deep: maps merge, lists replace), checked; a ConfigError lists every
 * wrong path. SOUK_* environment variables are not read here: a program says what it wants.
 */
export function mergeConfig (input: SoukConfigInput = {}, source = 'createNode({ config })'): SoukConfig {
  // A program's numbers are SoukConfig's own units (millicpu, bytes), not souk.yaml's (CPUs, and no
  // bare byte counts): they are checked here and kept as given; strings with units go to the checker.
  const held: Array<[string, number]> = []
  const problems: Array<{ path: string, message: string }> = []
  const stripped = structuredClone(input) as any
  for (const path of Object.keys(QUANTITY_SETTINGS)) {
    const [section, key] = path.split('.')
    const v = stripped?.[section]?.[key]
    if (typeof v !== 'number') continue
    if (!Number.isSafeInteger(v) || v < 0) problems.push({ path, message: `${v} must be a whole number ≥ 0 (${QUANTITY_SETTINGS[path] === 'cpu' ? 'millicpu' : 'bytes'})` })
    else held.push([path, v])
    delete stripped[section][key]
  }
  if (problems.length > 0) throw new ConfigError(source, problems)
  // an embedded node listens where nothing else does unless told: a free loopback port, not the
  // daemon's fixed port per role (two nodes in one process must not collide)
  stripped.network = { ...stripped.network, listen: input.network?.listen ?? ['/ip4/127.0.0.1/tcp/0'] }
  const config = resolveConfig(stripped, { env: {}, source })
  for (const [path, v] of held) {
    const [section, key] = path.split('.');
    (config as any)[section][key] = v
  }
  return config
}
