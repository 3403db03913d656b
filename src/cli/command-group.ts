import type { Command } from 'commander'
import type { ControlClient } from '../api/index.ts'

/** What a command group's handlers need from the program: the node home and the daemon's control API. */
export interface CliContext {
  /** the node home: --home, else $SOUK_HOME, else ~/.souk */
  home: () => string
  /** a client of the running daemon's control socket in that home (loads the daemon's module) */
  client: () => Promise<ControlClient>
}

/**
 * One top-level command (and its subcommands), registered on the program by main.ts. Its actions
 * import their handlers when they run: `souk --help` and `souk --version` load no library code.
 */
export interface CommandGroup {
  /** the command's name as typed after `souk` */
  name: string
  register: (program: Command, ctx: CliContext) => void
}
