import type { CommandGroup } from '../../command-group.ts'
import type { DeployOptions } from './options.ts'

export const deploy: CommandGroup = {
  name: 'deploy',
  register (program, { client }) {
    program.command('deploy').description('deploy an SDL file: order, bids, lease, manifest, running services')
      .argument('<file>', 'Akash SDL v2.0 deployment file')
      .option('--bid-window <ms>', 'how long providers may bid, ms')
      .option('--dry-run', 'ask the providers what they would bid, or every reason they would not; publishes no order')
      .option('--failover', 'when the provider is lost or never takes the manifest, close the lease and deploy again on another provider (tenant.failover in souk.yaml sets the timings). Only while this node runs; persistent storage does not move: the new provider starts with empty volumes')
      .option('--no-failover', 'no failover for this deployment, whatever tenant.failover.enabled says')
      .option('--json', 'print the outcome as JSON')
      .action(async (file: string, opts: DeployOptions) => { await (await import('./handler.ts')).deployFile(await client(), file, opts) })
  }
}
