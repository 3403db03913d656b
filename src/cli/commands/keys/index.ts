import type { CommandGroup } from '../../command-group.ts'
import type { JsonOptions, KeyWriteOptions } from './options.ts'

export const keys: CommandGroup = {
  name: 'keys',
  register (program, { home }) {
    const keys = program.command('keys').description('the node key: one ed25519 key is its peer ID and its signer')
    keys.command('create').description('create the node key (refuses to overwrite one)')
      .option('--force', 'replace an existing key (its peer ID is lost)')
      .option('--json', 'print as JSON')
      .action(async (opts: KeyWriteOptions) => { await (await import('./handler.ts')).keysCreate(home(), opts) })
    keys.command('show').description('show the peer ID and public key')
      .option('--json', 'print as JSON')
      .action(async (opts: JsonOptions) => { await (await import('./handler.ts')).keysShow(home(), opts) })
    keys.command('export').description('print the key file (it holds the secret key: keep it safe)')
      .action(async () => { await (await import('./handler.ts')).keysExport(home()) })
    keys.command('import').description('import a key file written by `souk keys export` (- reads stdin)')
      .argument('<file>', 'key file, or - for standard input')
      .option('--force', 'replace an existing key')
      .option('--json', 'print as JSON')
      .action(async (file: string, opts: KeyWriteOptions) => { await (await import('./handler.ts')).keysImport(home(), file, opts) })
  }
}
