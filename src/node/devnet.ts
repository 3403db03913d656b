// A complete souk network on this machine, as separate processes on loopback: a fresh committee
// of validators, providers on the local Docker engine, and a tenant, each a node home under DIR.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdir, writeFile, readFile, rm, open } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateIdentity, encodeKeyFile, writeSecretFile, keyFilePath } from '../identity/index.ts'
import type { Identity } from '../identity/index.ts'
import { CONFIG_FILE } from '../config/index.ts'
import { controlClient } from '../api/index.ts'
import { LABEL_INSTANCE, dockerClient } from '../runtime/index.ts'
import { committeeJson } from './genesis.ts'
import { genesisCommitteeFile } from '../committee/index.ts'
import { controlSocketPath, READY_FILE } from './daemon.ts'
import { ensureExampleImage } from './test-image.ts'
import { NodeError } from './errors.ts'

export const DEVNET_FILE = 'devnet.json'
const BIN = fileURLToPath(new URL('../../bin/souk', import.meta.url))

export interface DevnetNode { name: string, role: 'validator' | 'provider' | 'tenant', home: string, peerId: string, port: number, pid?: number, owner?: string }
export interface DevnetState { dir: string, createdAt: number, nodes: DevnetNode[] }

export type DevnetProgress = { type: 'devnet:image', detail: { image: string, built: boolean } }
  | { type: 'devnet:node-started', detail: { name: string, peerId: string } }
  | { type: 'devnet:ready', detail: { nodes: number } }

export interface DevnetOptions {
  validators?: number
  providers?: number
  dockerHost?: string
  bidWindowMs?: number
  onProgress?: (e: DevnetProgress) => void
  signal?: AbortSignal
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as any).port as number; s.close(() => resolve(p)) })
  })
}

const alive = (pid: number | undefined): boolean => {
  if (pid == null) return false
  try { process.kill(pid, 0); return true } catch { return false }
}

export async function readDevnet (dir: string): Promise<DevnetState | undefined> {
  try { return JSON.parse(await readFile(join(dir, DEVNET_FILE), 'utf8')) as DevnetState } catch { return undefined }
}

function yamlFor (n: DevnetNode, bootstrap: string[], directPeers: string[], o: Required<Pick<DevnetOptions, 'bidWindowMs' | 'dockerHost'>>): string {
  const lines = [
    '# written by `souk devnet up`',
    `roles: [${n.role}]`,
    'network:',
    `  listen: [/ip4/127.0.0.1/tcp/${n.port}]`,
    `  bootstrap: [${bootstrap.join(', ')}]`,
    '  testNetwork: true',
    `  directPeers: [${n.role === 'validator' ? directPeers.join(', ') : ''}]`,
    'committee:',
    '  file: committee.json',
    'log:',
    '  level: info',
    'tenant:',
    `  bidWindowMs: ${o.bidWindowMs}`
  ]
  if (n.role === 'provider') {
    lines.push(
      'provider:',
      '  runtime: docker',
      `  dockerHost: ${o.dockerHost}`,
      '  publishHost: 127.0.0.1',
      '  attributes: { region: local }',
      '  prices: { cpu: "10", memory: "1", storage: "0.1", gpu: "100", endpoint: "0" }',
      '  denom: uakt'
    )
  }
  return lines.join('\n') + '\n'
}

export async function devnetUp (dirIn: string, opts: DevnetOptions = {}): Promise<DevnetState> {
  const dir = resolve(dirIn)
  const existing = await readDevnet(dir)
  if (existing != null && existing.nodes.some((n) => alive(n.pid))) {
    throw new NodeError('ERR_DEVNET_RUNNING', `a devnet is already running in ${dir}; stop it with \`souk devnet down --dir ${dirIn}\``)
  }
  const dockerHost = opts.dockerHost ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
  const d = dockerClient(dockerHost)
  try {
    await d.ping()
  } catch {
    throw new NodeError('ERR_NO_DOCKER', `no Docker engine answers at ${dockerHost}; start one or set DOCKER_HOST`)
  }
  const built = await ensureExampleImage(d)
  opts.onProgress?.({ type: 'devnet:image', detail: { image: 'souk/busybox:latest', built: built === 'built' } })

  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const plan: Array<{ name: string, role: DevnetNode['role'], id: Identity }> = []
  for (let i = 0; i < (opts.validators ?? 4); i++) plan.push({ name: `validator-${i}`, role: 'validator', id: generateIdentity() })
  for (let i = 0; i < (opts.providers ?? 2); i++) plan.push({ name: `provider-${i}`, role: 'provider', id: generateIdentity() })
  plan.push({ name: 'tenant', role: 'tenant', id: generateIdentity() })
  const committee = committeeJson([genesisCommitteeFile(plan.filter((p) => p.role === 'validator').map((p) => p.id))])

  const nodes: DevnetNode[] = []
  for (const p of plan) {
    const peerId = p.id.peerId.toString()
    nodes.push({ name: p.name, role: p.role, home: join(dir, p.name === 'tenant' ? 'tenant' : p.name), peerId, port: await freePort(), owner: p.role === 'provider' ? `souk-${peerId.slice(-12)}` : undefined })
  }
  const addr = (n: DevnetNode): string => `/ip4/127.0.0.1/tcp/${n.port}/p2p/${n.peerId}`
  const validators = nodes.filter((n) => n.role === 'validator')
  for (const [i, n] of nodes.entries()) {
    await mkdir(n.home, { recursive: true, mode: 0o700 })
    await writeSecretFile(keyFilePath(n.home), encodeKeyFile(plan[i].id))
    await writeFile(join(n.home, 'committee.json'), committee)
    const bootstrap = validators.filter((v) => v !== n).slice(0, 2).map(addr)
    await writeFile(join(n.home, CONFIG_FILE), yamlFor(n, bootstrap, validators.filter((v) => v !== n).map(addr), { bidWindowMs: opts.bidWindowMs ?? 1000, dockerHost }), { mode: 0o600 })
  }
  const state: DevnetState = { dir, createdAt: Date.now(), nodes }
  const save = async (): Promise<void> => { await writeFile(join(dir, DEVNET_FILE), JSON.stringify(state, null, 2) + '\n') }

  try {
    for (const n of nodes) {
      const log = await open(join(n.home, 'node.log'), 'a')
      const child = spawn(process.execPath, [BIN, '--home', n.home, 'node', 'start'], {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        env: { ...process.env, DOCKER_HOST: dockerHost }
      })
      child.unref()
      await log.close()
      n.pid = child.pid
      await save()
    }
    for (const n of nodes) {
      await waitReady(n, opts.signal)
      opts.onProgress?.({ type: 'devnet:node-started', detail: { name: n.name, peerId: n.peerId } })
    }
    await waitConnected(nodes, opts.signal)
  } catch (err) {
    await devnetDown(dir).catch(() => {})
    throw err
  }
  opts.onProgress?.({ type: 'devnet:ready', detail: { nodes: nodes.length } })
  return state
}

async function waitReady (n: DevnetNode, signal?: AbortSignal): Promise<void> {
  const c = controlClient({ socketPath: controlSocketPath(n.home), home: n.home })
  const until = Date.now() + 60_000
  while (Date.now() < until) {
    signal?.throwIfAborted()
    if (!alive(n.pid)) {
      const log = await readFile(join(n.home, 'node.log'), 'utf8').catch(() => '')
      throw new NodeError('ERR_DEVNET_NODE_DIED', `${n.name} exited during start; its log (${join(n.home, 'node.log')}) ends:\n${log.split('\n').slice(-15).join('\n')}`)
    }
    try { await c.get('/v1/node'); return } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new NodeError('ERR_DEVNET_TIMEOUT', `${n.name} did not start within 60 s (see ${join(n.home, 'node.log')})`)
}

/** every node has a peer, and the tenant reaches at least one provider through gossip */
async function waitConnected (nodes: DevnetNode[], signal?: AbortSignal): Promise<void> {
  const until = Date.now() + 30_000
  while (Date.now() < until) {
    signal?.throwIfAborted()
    const peers = await Promise.all(nodes.map(async (n) => await controlClient({ socketPath: controlSocketPath(n.home) }).get<any>('/v1/node').then((s) => s.peers as number, () => 0)))
    if (peers.every((p) => p >= 2)) {
      // a moment for gossip meshes to form on the fresh connections
      await new Promise((resolve) => setTimeout(resolve, 1500))
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new NodeError('ERR_DEVNET_TIMEOUT', 'the devnet nodes did not connect to each other within 30 s')
}

export interface DevnetNodeStatus { name: string, role: string, peerId: string, pid?: number, running: boolean, peers?: number, home: string }

export async function devnetStatus (dirIn: string): Promise<DevnetNodeStatus[]> {
  const state = await readDevnet(resolve(dirIn))
  if (state == null) throw new NodeError('ERR_NO_DEVNET', `no devnet in ${dirIn} (start one with \`souk devnet up --dir ${dirIn}\`)`)
  return await Promise.all(state.nodes.map(async (n) => {
    const s = await controlClient({ socketPath: controlSocketPath(n.home) }).get<any>('/v1/node').catch(() => undefined)
    return { name: n.name, role: n.role, peerId: n.peerId, pid: n.pid, running: s != null && alive(n.pid), peers: s?.peers, home: n.home }
  }))
}

/** Stops every node (cleanly, then by force), then removes whatever containers its providers left. */
export async function devnetDown (dirIn: string, opts: { dockerHost?: string } = {}): Promise<{ stopped: number, removed: number }> {
  const dir = resolve(dirIn)
  const state = await readDevnet(dir)
  if (state == null) throw new NodeError('ERR_NO_DEVNET', `no devnet in ${dirIn}`)
  let stopped = 0
  await Promise.all(state.nodes.map(async (n) => {
    // a node restarted by hand has a new pid: its ready file knows it
    const ready = await readFile(join(n.home, READY_FILE), 'utf8').then((t) => JSON.parse(t) as { pid?: number }, () => undefined)
    if (ready?.pid != null && alive(ready.pid)) n.pid = ready.pid
    if (!alive(n.pid)) return
    await controlClient({ socketPath: controlSocketPath(n.home) }).post('/v1/node/stop').catch(() => { try { process.kill(n.pid!, 'SIGTERM') } catch {} })
    for (let i = 0; i < 150 && alive(n.pid); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    if (alive(n.pid)) { try { process.kill(n.pid!, 'SIGKILL') } catch {} }
    stopped++
  }))
  let removed = 0
  const d = dockerClient(opts.dockerHost)
  for (const owner of state.nodes.map((n) => n.owner).filter((o): o is string => o != null)) {
    const filters = { label: [`${LABEL_INSTANCE}=${owner}`] }
    try {
      for (const c of await d.listContainers({ all: true, filters })) { await d.getContainer(c.Id).remove({ force: true, v: true }); removed++ }
      for (const nw of await d.listNetworks({ filters })) await d.getNetwork(nw.Id).remove().catch(() => {})
      for (const v of (await d.listVolumes({ filters })).Volumes ?? []) await d.getVolume(v.Name).remove().catch(() => {})
    } catch {}
  }
  for (const n of state.nodes) n.pid = undefined
  await writeFile(join(dir, DEVNET_FILE), JSON.stringify(state, null, 2) + '\n')
  return { stopped, removed }
}
