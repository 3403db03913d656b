import { readFile } from 'node:fs/promises'
import { createKey, loadKey, importKey, encodeKeyFile, keyFilePath } from '../../../identity/index.ts'
import type { Identity } from '../../../identity/index.ts'
import { print, printJson } from '../../output.ts'
import type { JsonOptions, KeyWriteOptions } from './options.ts'

/** a key file holds one small JSON object: more than this on stdin is not one */
const MAX_KEY_FILE = 65536

function show (id: Identity, home: string, json: boolean): void {
  const d = { peerId: id.peerId.toString(), publicKey: Buffer.from(id.publicKey).toString('hex'), keyFile: keyFilePath(home) }
  if (json) { printJson(d); return }
  print(`peer ID     ${d.peerId}`)
  print(`public key  ${d.publicKey}`)
  print(`key file    ${d.keyFile}`)
}

export async function keysCreate (home: string, opts: KeyWriteOptions): Promise<void> {
  show(await createKey(home, { overwrite: opts.force === true }), home, opts.json === true)
}

export async function keysShow (home: string, opts: JsonOptions): Promise<void> {
  show(await loadKey(home), home, opts.json === true)
}

export async function keysExport (home: string): Promise<void> {
  const id = await loadKey(home)
  process.stderr.write('warning: this output holds the node\'s secret key\n')
  process.stdout.write(encodeKeyFile(id))
}

export async function keysImport (home: string, file: string, opts: KeyWriteOptions): Promise<void> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8')
  show(await importKey(home, text, { overwrite: opts.force === true }), home, opts.json === true)
}

async function readStdin (): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of process.stdin) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c))
    chunks.push(b)
    size += b.length
    if (size > MAX_KEY_FILE) break
  }
  return Buffer.concat(chunks).toString('utf8')
}
