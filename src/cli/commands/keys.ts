import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { createKey, loadKey, importKey, encodeKeyFile, keyFilePath } from '../../identity/index.ts'
import type { Identity } from '../../identity/index.ts'
import { resolveHome } from '../home.ts'
import { print, printJson } from '../output.ts'

function describe (id: Identity, home: string): { peerId: string, publicKey: string, keyFile: string } {
  return { peerId: id.peerId.toString(), publicKey: Buffer.from(id.publicKey).toString('hex'), keyFile: keyFilePath(home) }
}

function show (id: Identity, home: string, json: boolean): void {
  const d = describe(id, home)
  if (json) { printJson(d); return }
  print(`peer ID     ${d.peerId}`)
  print(`public key  ${d.publicKey}`)
  print(`key file    ${d.keyFile}`)
}

export function keysCommand (program: Command): void {
  const keys = program.command('keys').description('the node key: one ed25519 key is its peer ID and its signer')
  const home = (): string => resolveHome(program.opts().home)

  keys.command('create').description('create the node key (refuses to overwrite one)')
    .option('--force', 'replace an existing key (its peer ID is lost)')
    .option('--json', 'print as JSON')
    .action(async (opts) => { show(await createKey(home(), { overwrite: opts.force === true }), home(), opts.json === true) })

  keys.command('show').description('show the peer ID and public key')
    .option('--json', 'print as JSON')
    .action(async (opts) => { show(await loadKey(home()), home(), opts.json === true) })

  keys.command('export').description('print the key file (it holds the secret key: keep it safe)')
    .action(async () => {
      const id = await loadKey(home())
      process.stderr.write('warning: this output holds the node\'s secret key\n')
      process.stdout.write(encodeKeyFile(id))
    })

  keys.command('import').description('import a key file written by `souk keys export` (- reads stdin)')
    .argument('<file>', 'key file, or - for standard input')
    .option('--force', 'replace an existing key')
    .option('--json', 'print as JSON')
    .action(async (file: string, opts) => {
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8')
      show(await importKey(home(), text, { overwrite: opts.force === true }), home(), opts.json === true)
    })
}

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of process.stdin) {
    chunks.push(c as Buffer)
    size += (c as Buffer).length
    if (size > 65536) break
  }
  return Buffer.concat(chunks).toString('utf8')
}
