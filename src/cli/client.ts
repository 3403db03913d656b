import type { Command } from 'commander'
import type { ControlClient } from '../api/index.ts'
import type { CliContext } from './command-group.ts'
import { resolveHome } from './home.ts'

/**
 * The running daemon's control API, for a node home. The daemon module (which names the socket)
 * loads the whole node, so it is loaded here, when a command talks to the daemon, not when the
 * program starts.
 */
export async function homeClient (home: string): Promise<ControlClient> {
  const [{ controlClient }, { controlSocketPath }] = await Promise.all([import('../api/index.ts'), import('../node/daemon.ts')])
  return controlClient({ socketPath: controlSocketPath(home), home })
}

/** Reads --home when a command runs (commander parses it before any action). */
export function cliContext (program: Command): CliContext {
  const home = (): string => resolveHome(program.opts<{ home?: string }>().home)
  return { home, client: async () => await homeClient(home()) }
}
