import type { CommandGroup } from '../../command-group.ts'
import { leaseEvents, leaseLogs } from './follow.ts'
import { leaseClose, leaseList, leaseStatus, leaseUpdate, leaseUsage } from './handler.ts'
import type { CloseOptions, EventsOptions, JsonOptions, LogsOptions, ShellOptions } from './options.ts'
import { leaseShell } from './shell.ts'

export const lease: CommandGroup = {
  name: 'lease',
  register (program, { client }) {
    const lease = program.command('lease').description('leases: list, status, logs, events, close')
    lease.command('list').description('this node\'s leases').option('--json', 'print as JSON')
      .action(async (opts: JsonOptions) => { await leaseList(client(), opts) })
    lease.command('status').argument('<id>', 'lease (order) ID or a prefix').option('--json', 'print as JSON')
      .action(async (id: string, opts: JsonOptions) => { await leaseStatus(client(), id, opts) })
    lease.command('logs').argument('<id>', 'lease ID').option('-f, --follow', 'keep following').option('--tail <n>', 'lines per replica from the end').option('--service <name>', 'one service only').option('--json', 'print JSON lines')
      .action(async (id: string, opts: LogsOptions) => { await leaseLogs(client(), id, opts) })
    lease.command('events').argument('<id>', 'lease ID or a prefix').description('the lease\'s history at its provider, from the manifest to the close').option('-f, --follow', 'keep following').option('--json', 'print JSON lines')
      .action(async (id: string, opts: EventsOptions) => { await leaseEvents(client(), id, opts) })
    lease.command('usage').argument('<id>', 'lease ID').description('signed usage statements: period, amount, running total, countersigned or not').option('--json', 'print as JSON')
      .action(async (id: string, opts: JsonOptions) => { await leaseUsage(client(), id, opts) })
    lease.command('update').argument('<id>', 'lease ID').argument('<file>', 'the new deployment file').description('roll out a new manifest on a running lease; a failed rollout keeps the old one').option('--json', 'print as JSON')
      .action(async (id: string, file: string, opts: JsonOptions) => { await leaseUpdate(client(), id, file, opts) })
    lease.command('shell').argument('<id>', 'lease ID').argument('[command...]', 'command to run instead of a shell').description('a shell (or a command) in one of the lease\'s containers')
      .option('--service <name>', 'which service (default: the first)')
      .action(async (id: string, command: string[], opts: ShellOptions) => { await leaseShell(client(), id, command, opts) })
    lease.command('close').argument('<id>', 'lease ID').option('--reason <text>', 'told to the provider', '').option('--json', 'print as JSON')
      .action(async (id: string, opts: CloseOptions) => { await leaseClose(client(), id, opts) })
  }
}
