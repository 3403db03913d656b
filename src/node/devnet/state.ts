// DIR/devnet.json: read, required, and written whole.
import { randomBytes } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { NodeError } from '../errors.ts'
import { DEVNET_FILE } from './constants.ts'
import type { DevnetNode, DevnetState } from './types.ts'

export async function readDevnet (dir: string): Promise<DevnetState | undefined> {
  try { return JSON.parse(await readFile(join(dir, DEVNET_FILE), 'utf8')) as DevnetState } catch { return undefined }
}

export async function requireDevnet (dirIn: string): Promise<DevnetState> {
  const state = await readDevnet(resolve(dirIn))
  if (state == null) throw new NodeError('ERR_NO_DEVNET', `no devnet in ${dirIn} (start one with \`souk devnet up --dir ${dirIn}\`)`)
  return state
}

/** written whole then renamed into place: a reader never sees half a file */
export async function saveDevnet (state: DevnetState): Promise<void> {
  const tmp = join(state.dir, `.${DEVNET_FILE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n')
  await rename(tmp, join(state.dir, DEVNET_FILE))
}

export function findNode (state: DevnetState, name: string): DevnetNode {
  const n = state.nodes.find((x) => x.name === name)
  if (n == null) throw new NodeError('ERR_DEVNET_NO_NODE', `no node "${name}" in the devnet (nodes: ${state.nodes.map((x) => x.name).join(', ')})`)
  return n
}

