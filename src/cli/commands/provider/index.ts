import type { CommandGroup } from '../../command-group.ts'
import type { JsonOptions } from './options.ts'

export const provider: CommandGroup = {
  name: 'provider',
  register (program, { client }) {
    const provider = program.command('provider').description('the provider role: capacity, leases, bid decisions')
    provider.command('status').option('--json', 'print as JSON')
      .action(async (opts: JsonOptions) => { await (await import('./handler.ts')).providerStatus(await client(), opts) })
    provider.command('record').argument('<peer>', 'a provider\'s peer ID or key (64 hex digits)').description('the provider\'s record from the committee\'s ledger: leases won, served, closed as lost or failed').option('--json', 'print as JSON')
      .action(async (peer: string, opts: JsonOptions) => { await (await import('./handler.ts')).providerRecord(await client(), peer, opts) })
    provider.command('explain').argument('<order>', 'order ID or a unique prefix (as deploy prints it)').description('why this provider bid on an order, or why not').option('--json', 'print as JSON')
      .action(async (order: string, opts: JsonOptions) => { await (await import('./handler.ts')).providerExplain(await client(), order, opts) })
  }
}
