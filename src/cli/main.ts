import { Command, CommanderError } from 'commander'
import { readFileSync } from 'node:fs'
import { keysCommand } from './commands/keys.ts'
import { CliError } from './output.ts'

export type CommandModule = (program: Command) => void

/** Command groups that live in their own files; each registers itself on the program. */
const optionalModules = ['./commands/sdl.ts', './commands/committee.ts', './commands/node.ts', './commands/market.ts', './commands/devnet.ts']

/** souk's version from its package.json, found upwards from here (a checkout runs src/, a package dist/src/) */
function soukVersion (): string {
  for (let dir = new URL('./', import.meta.url); dir.pathname !== '/'; dir = new URL('../', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'))
      if (pkg?.name === 'souk') return String(pkg.version)
    } catch {}
  }
  return 'unknown'
}

export async function buildProgram (): Promise<Command> {
  const program = new Command()
  program
    .name('souk')
    .description('a peer-to-peer marketplace for container compute')
    .version(soukVersion(), '-V, --version', 'print souk\'s version')
    .option('--home <dir>', 'node home directory (default $SOUK_HOME or ~/.souk)')
    .option('--debug', 'print stack traces for unexpected errors')
    .showHelpAfterError()
  keysCommand(program)
  for (const path of optionalModules) {
    const mod = await import(path).catch((err: any) => {
      if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(path.slice(2))) return null
      throw err
    })
    if (mod == null) continue
    for (const value of Object.values(mod)) {
      if (typeof value === 'function' && value.name.endsWith('Command')) (value as CommandModule)(program)
    }
  }
  return program
}

export async function main (argv: string[]): Promise<void> {
  // `souk … | head` closes the pipe early; that is not an error
  process.stdout.on('error', (err: any) => { if (err?.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw err })
  const program = await buildProgram()
  program.exitOverride()
  try {
    await program.parseAsync(argv)
  } catch (err: any) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode
      return
    }
    if (err instanceof CliError) {
      process.stderr.write(`error: ${err.message}\n`)
      process.exitCode = err.exitCode
      return
    }
    // typed errors from the library carry a code: say what went wrong, without a stack trace
    if (typeof err?.code === 'string' && err.code.startsWith('ERR_')) {
      process.stderr.write(`error: ${err.message}\n`)
      process.exitCode = 1
      return
    }
    process.stderr.write(`error: ${err?.message ?? String(err)}\n`)
    if (program.opts().debug === true) process.stderr.write(`${err?.stack ?? ''}\n`)
    else process.stderr.write('(run with --debug for details)\n')
    process.exitCode = 1
  }
}
