import { Command, CommanderError } from 'commander'
import { readFileSync } from 'node:fs'
import { errorCode, errorMessage } from '../util/index.ts'
import { cliContext } from './client.ts'
import { commands } from './commands/index.ts'
import { CliError } from './output.ts'

/** souk's version from its package.json, found upwards from here (a checkout runs src/, a package dist/src/) */
function soukVersion (): string {
  for (let dir = new URL('./', import.meta.url); dir.pathname !== '/'; dir = new URL('../', dir)) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'))
      if (pkg != null && typeof pkg === 'object' && 'name' in pkg && pkg.name === 'souk' && 'version' in pkg) return String(pkg.version)
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
  const ctx = cliContext(program)
  for (const group of commands) group.register(program, ctx)
  return program
}

export async function main (argv: string[]): Promise<void> {
  // `souk … | head` closes the pipe early; that is not an error
  process.stdout.on('error', (err) => { if (errorCode(err) === 'EPIPE') process.exit(process.exitCode ?? 0); else throw err })
  const program = await buildProgram()
  program.exitOverride()
  try {
    await program.parseAsync(argv)
  } catch (err) {
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
    if (errorCode(err)?.startsWith('ERR_') === true) {
      process.stderr.write(`error: ${errorMessage(err)}\n`)
      process.exitCode = 1
      return
    }
    process.stderr.write(`error: ${errorMessage(err)}\n`)
    if (program.opts<{ debug?: boolean }>().debug === true) process.stderr.write(`${err instanceof Error ? err.stack ?? '' : ''}\n`)
    else process.stderr.write('(run with --debug for details)\n')
    process.exitCode = 1
  }
}
