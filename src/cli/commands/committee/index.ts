import type { CommandGroup } from '../../command-group.ts'
import type { InitOptions, JsonOptions, SignOptions, VerifyOptions } from './options.ts'

export const committee: CommandGroup = {
  name: 'committee',
  register (program, { client }) {
    const committee = program.command('committee').description('the validator committee: its signed file and lease certificates')

    committee.command('init').description('write a signed genesis committee file (n = 3f+1 validators; 2f+1 must sign)')
      .option('--key <file...>', 'key files of validators that sign now')
      .option('--pubkey <hex...>', 'public keys (hex) of validators that sign later with `committee sign`')
      .option('--genesis-time <ms>', 'committee time of the first batch, ms since 1970 (default: now)')
      .option('-o, --out <file>', 'where to write the file', 'committee.json')
      .option('--json', 'print as JSON')
      .action(async (opts: InitOptions) => { await (await import('./offline.ts')).committeeInit(opts) })

    committee.command('sign').description('add a validator\'s signature to a committee file')
      .argument('<file>', 'committee file')
      .requiredOption('--key <file>', 'the validator\'s key file')
      .action(async (path: string, opts: SignOptions) => { await (await import('./offline.ts')).committeeSign(path, opts) })

    committee.command('verify').description('check a committee file (or chain of files), or a lease certificate, offline')
      .argument('<file>', 'committee file, JSON array of files from the genesis on, or lease certificate (JSON or CBOR)')
      .option('--committee <file>', 'committee chain to check a lease certificate against')
      .option('--json', 'print as JSON')
      .action(async (path: string, opts: VerifyOptions) => { await (await import('./offline.ts')).committeeVerify(path, opts) })

    // commands of a running validator node
    committee.command('status').description('epoch, members, height, leader, and which validators are behind').option('--json', 'print as JSON')
      .action(async (opts: JsonOptions) => { await (await import('./running.ts')).committeeStatus(await client(), opts) })
    committee.command('evidence').description('conflicting signatures by one validator, kept as evidence').option('--json', 'print as JSON')
      .action(async (opts: JsonOptions) => { await (await import('./running.ts')).committeeEvidence(await client(), opts) })
    committee.command('join').description('ask the committee to admit this validator node (its members approve)')
      .action(async () => { await (await import('./running.ts')).committeeJoin(await client()) })
    committee.command('leave').description('ask the committee to let this validator go')
      .action(async () => { await (await import('./running.ts')).committeeLeave(await client()) })
    committee.command('approve').argument('<peer>', 'peer ID (or key, or change ID) of the validator joining or leaving').description('approve a pending membership change')
      .action(async (peer: string) => { await (await import('./running.ts')).committeeApprove(await client(), peer) })
  }
}
