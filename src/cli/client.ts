import type { Command } from 'commander'
import { controlClient } from '../api/index.ts'
import type { ControlClient } from '../api/index.ts'
import { controlSocketPath } from '../node/daemon.ts'
import type { CliContext } from './command-group.ts'
import { resolveHome } from './home.ts'

/** The running daemon's control API, for the home the program's --home names. */
export function homeClient (home: string): ControlClient {
  return controlClient({ socketPath: controlSocketPath(home), home })
}

/** Reads --home when a command runs (commander parses it before any action). */
export function cliContext (program: Command): CliContext {
  const home = (): string => resolveHome(program.opts<{ home?: string }>().home)
  return { home, client: () => homeClient(home()) }
}
