import type { CommandGroup } from '../../command-group.ts'
import type { CloseOptions, EventsOptions, JsonOptions, LogsOptions, ShellOptions } from './options.ts'

export const lease: CommandGroup = {
  name: 'lease',
  register (program, { client }) {
    const lease = program.command('lease').description('leases: list, status, logs, events, close')
    lease.command('list').description('this node\'s leases').option('--json', 'print as JSON')
      .action(async (opts: JsonOptions) => { await (await import('./handler.ts')).leaseList(await client(), opts) })
    lease.command('status').argument('<id>', 'lease (order) ID or a prefix').option('--json', 'print as JSON')
      .action(async (id: string, opts: JsonOptions) => { await (await import('./handler.ts')).leaseStatus(await client(), id, opts) })
    lease.command('logs').argument('<id>', 'lease ID').option('-f, --follow', 'keep following').option('--tail <n>', 'lines per replica from the end').option('--service <name>', 'one service only').option('--json', 'print JSON lines')
      .action(async (id: string, opts: LogsOptions) => { await (await import('./follow.ts')).leaseLogs(await client(), id, opts) })
    lease.command('events').argument('<id>', 'lease ID or a prefix').description('the lease\'s history at its provider, from the manifest to the close').option('-f, --follow', 'keep following').option('--json', 'print JSON lines')
      .action(async (id: string, opts: EventsOptions) => { await (await import('./follow.ts')).leaseEvents(await client(), id, opts) })
    lease.command('usage').argument('<id>', 'lease ID').description('signed usage statements: period, amount, running total, countersigned or not').option('--json', 'print as JSON')
      .action(async (id: string, opts: JsonOptions) => { await (await import('./handler.ts')).leaseUsage(await client(), id, opts) })
    lease.command('update').argument('<id>', 'lease ID').argument('<file>', 'the new deployment file').description('roll out a new manifest on a running lease; a failed rollout keeps the old one').option('--json', 'print as JSON')
      .action(async (id: string, file: string, opts: JsonOptions) => { await (await import('./handler.ts')).leaseUpdate(await client(), id, file, opts) })
    lease.command('shell').argument('<id>', 'lease ID').argument('[command...]', 'command to run instead of a shell').description('a shell (or a command) in one of the lease\'s containers')
      .option('--service <name>', 'which service (default: the first)')
      .action(async (id: string, command: string[], opts: ShellOptions) => { await (await import('./shell.ts')).leaseShell(await client(), id, command, opts) })
    lease.command('close').argument('<id>', 'lease ID').option('--reason <text>', 'told to the provider', '').option('--json', 'print as JSON')
      .action(async (id: string, opts: CloseOptions) => { await (await import('./handler.ts')).leaseClose(await client(), id, opts) })
  }
}
