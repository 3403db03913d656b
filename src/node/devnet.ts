// A complete souk network on this machine, as separate processes: a fresh committee of
// validators, providers on the local Docker engine, and a tenant, each a node home under DIR.
// By default they talk over loopback. With `netns` each node runs in a network namespace of its
// own, wired by a veth pair to a bridge in a hub namespace, so links between nodes can be cut and
// healed (`devnetCut`, `devnetHeal`) the way a real network fails: packets silently dropped.
import { spawn, execFile } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile, readFile, rm, open, rename } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { soukCliPath } from './cli-path.ts'
import { generateIdentity, encodeKeyFile, writeSecretFile, keyFilePath } from '../identity/index.ts'
import type { Identity } from '../identity/index.ts'
import { CONFIG_FILE } from '../config/index.ts'
import { controlClient } from '../api/index.ts'
import { LABEL_INSTANCE } from '../runtime/constants.ts'
import { dockerClient } from '../runtime/docker-client.ts'
import { CRASH_FILE_ENV } from '../store/index.ts'
import { committeeJson } from './genesis.ts'
import { genesisCommitteeFile } from '../committee/index.ts'
import { controlSocketPath, READY_FILE } from './daemon.ts'
import { ensureExampleImage } from './test-image.ts'
import { NodeError, NodeErrorCode } from './errors.ts'
import { wanNetwork, wanProfile } from '../net/wan/index.ts'
import type { ProfileName, Region, WanSettings } from '../net/wan/index.ts'
import { errorMessage } from '../util/index.ts'

export const DEVNET_FILE = 'devnet.json'
/** in a node home: the crash point the node arms itself with when the devnet runs with crash points */
export const CRASH_POINT_FILE = 'crash-point'
const BIN = soukCliPath()
/** the nodes' subnet inside a devnet's hub namespace (private to that namespace) */
const NETNS_SUBNET = '10.77.0'
/** the port every node listens on in its own namespace */
const NETNS_PORT = 4001

export interface DevnetNode {
  name: string
  role: 'validator' | 'provider' | 'tenant'
  home: string
  peerId: string
  port: number
  pid?: number
  owner?: string
  /** the node's network namespace and address there, when the devnet runs in namespaces */
  netns?: string
  ip?: string
  /** its region when the devnet emulates a wide-area network */
  region?: Region
}

export interface DevnetNetns {
  /** short random tag in every namespace and interface name of this devnet */
  tag: string
  /** the namespace holding the bridge */
  hub: string
  /** links cut, as pairs of node names */
  cuts: Array<[string, string]>
}

export interface DevnetState {
  dir: string
  createdAt: number
  nodes: DevnetNode[]
  netns?: DevnetNetns
  /** nodes start with SOUK_CRASH_FILE=<home>/crash-point */
  crashPoints?: boolean
  dockerHost?: string
  /** flags for the node binary itself, before the script (e.g. --trace-gc, which NODE_OPTIONS refuses) */
  nodeFlags?: string[]
  /** the emulated wide-area network every node dials through */
  wan?: { profile: ProfileName, seed: number }
}

export type DevnetProgress = { type: 'devnet:image', detail: { image: string, built: boolean } }
  | { type: 'devnet:node-started', detail: { name: string, peerId: string } }
  | { type: 'devnet:ready', detail: { nodes: number } }

export interface DevnetOptions {
  validators?: number
  providers?: number
  dockerHost?: string
  bidWindowMs?: number
  /** each node in a network namespace of its own (needs root and iproute2) */
  netns?: boolean
  /** every node may be armed with a crash point by writing it to HOME/crash-point (fault testing) */
  crashPoints?: boolean
  /** extra settings per role, written into its section of souk.yaml (`committee` for validators), e.g. { provider: { manifestTimeoutMs: 10000 } } */
  settings?: Partial<Record<'validator' | 'provider' | 'tenant', Record<string, string | number>>>
  /** flags for the node binary itself, kept for every restart (e.g. ['--trace-gc'] for a soak) */
  nodeFlags?: string[]
  /**
   * every node dials through an emulated wide-area network of this profile (docs/wan-emulation.md),
   * spread round robin over its regions (validators first, so the committee spans them)
   */
  wan?: { profile: ProfileName, seed?: number }
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

/** processes this process started: their exit is an event, not a guess from kill(pid, 0) (zombies pass it) */
const children = new Map<number, { child: ChildProcess, exited: Promise<void> }>()

const running = (pid: number | undefined): boolean => {
  if (pid == null) return false
  const c = children.get(pid)
  if (c != null) return c.child.exitCode == null && c.child.signalCode == null
  return alive(pid)
}

async function run (cmd: string, args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err != null) reject(new NodeError('ERR_DEVNET_NETNS', `${cmd} ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`))
      else resolve(stdout)
    })
  })
}

export async function readDevnet (dir: string): Promise<DevnetState | undefined> {
  try { return JSON.parse(await readFile(join(dir, DEVNET_FILE), 'utf8')) as DevnetState } catch { return undefined }
}

async function requireDevnet (dirIn: string): Promise<DevnetState> {
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

function findNode (state: DevnetState, name: string): DevnetNode {
  const n = state.nodes.find((x) => x.name === name)
  if (n == null) throw new NodeError('ERR_DEVNET_NO_NODE', `no node "${name}" in the devnet (nodes: ${state.nodes.map((x) => x.name).join(', ')})`)
  return n
}

const listenAddr = (n: DevnetNode): string => n.ip != null ? `/ip4/${n.ip}/tcp/${n.port}` : `/ip4/127.0.0.1/tcp/${n.port}`
const dialAddr = (n: DevnetNode): string => `${listenAddr(n)}/p2p/${n.peerId}`

function wanYaml (w: WanSettings): string[] {
  const peers = Object.entries(w.peers).map(([k, r]) => `${JSON.stringify(k)}: ${r}`).join(', ')
  return ['  wan:', `    profile: ${w.profile}`, `    seed: ${w.seed}`, `    region: ${w.region}`, `    peers: { ${peers} }`]
}

function yamlFor (n: DevnetNode, bootstrap: string[], directPeers: string[], o: Required<Pick<DevnetOptions, 'bidWindowMs' | 'dockerHost'>> & Pick<DevnetOptions, 'settings'> & { wan?: WanSettings }): string {
  const extra = (role: 'validator' | 'provider' | 'tenant'): string[] => Object.entries(o.settings?.[role] ?? {}).map(([k, v]) => `  ${k}: ${String(v)}`)
  const lines = [
    '# written by `souk devnet up`',
    `roles: [${n.role}]`,
    'network:',
    `  listen: [${listenAddr(n)}]`,
    `  bootstrap: [${bootstrap.join(', ')}]`,
    '  testNetwork: true',
    `  directPeers: [${n.role === 'validator' ? directPeers.join(', ') : ''}]`,
    ...(o.wan != null ? wanYaml(o.wan) : []),
    'committee:',
    '  file: committee.json',
    ...(n.role === 'validator' ? extra('validator') : []),
    'log:',
    '  level: info',
    'tenant:',
    `  bidWindowMs: ${o.bidWindowMs}`,
    ...(n.role === 'tenant' ? extra('tenant') : [])
  ]
  if (n.role === 'provider') {
    lines.push(
      'provider:',
      '  runtime: docker',
      `  dockerHost: ${o.dockerHost}`,
      '  publishHost: 127.0.0.1',
      '  attributes: { region: local }',
      '  prices: { cpu: "10", memory: "1", storage: "0.1", gpu: "100", endpoint: "0" }',
      '  denom: uakt',
      ...extra('provider')
    )
  }
  return lines.join('\n') + '\n'
}

/** the hub namespace with its bridge, and per node a namespace joined to it by a veth pair */
async function buildNamespaces (state: DevnetState): Promise<void> {
  const net = state.netns!
  await run('ip', ['netns', 'add', net.hub])
  await run('ip', ['-n', net.hub, 'link', 'add', 'br0', 'type', 'bridge'])
  await run('ip', ['-n', net.hub, 'link', 'set', 'br0', 'up'])
  for (const [i, n] of state.nodes.entries()) {
    const inside = `sk${net.tag}n${i}`
    const outside = `sk${net.tag}h${i}`
    await run('ip', ['netns', 'add', n.netns!])
    await run('ip', ['link', 'add', inside, 'type', 'veth', 'peer', 'name', outside])
    await run('ip', ['link', 'set', inside, 'netns', n.netns!])
    await run('ip', ['link', 'set', outside, 'netns', net.hub])
    await run('ip', ['-n', n.netns!, 'link', 'set', 'lo', 'up'])
    await run('ip', ['-n', n.netns!, 'addr', 'add', `${n.ip!}/24`, 'dev', inside])
    await run('ip', ['-n', n.netns!, 'link', 'set', inside, 'up'])
    await run('ip', ['-n', net.hub, 'link', 'set', outside, 'master', 'br0'])
    await run('ip', ['-n', net.hub, 'link', 'set', outside, 'up'])
  }
}

async function removeNamespaces (state: DevnetState): Promise<void> {
  if (state.netns == null) return
  for (const ns of [...state.nodes.map((n) => n.netns), state.netns.hub]) {
    if (ns != null) await run('ip', ['netns', 'del', ns]).catch(() => {})
  }
}

/** whether this machine can run a devnet in namespaces; undefined when it can, else why not */
export async function netnsUnavailable (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  try { await run('ip', ['netns', 'list']) } catch (err) { return `iproute2 cannot list namespaces: ${errorMessage(err)}` }
  return undefined
}

export async function devnetUp (dirIn: string, opts: DevnetOptions = {}): Promise<DevnetState> {
  const dir = resolve(dirIn)
  const existing = await readDevnet(dir)
  if (existing != null && existing.nodes.some((n) => alive(n.pid))) {
    throw new NodeError('ERR_DEVNET_RUNNING', `a devnet is already running in ${dir}; stop it with \`souk devnet down --dir ${dirIn}\``)
  }
  if (opts.netns === true) {
    const why = await netnsUnavailable()
    if (why != null) throw new NodeError('ERR_DEVNET_NETNS', `cannot place the nodes in network namespaces: ${why}`)
  }
  if (opts.wan != null) {
    const seed = opts.wan.seed ?? 1
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new NodeError(NodeErrorCode.DEVNET_WAN, `the WAN seed must be a whole number from 0 to 4294967295, not ${String(opts.wan.seed)}`)
    try { wanProfile(opts.wan.profile) } catch (err) { throw new NodeError(NodeErrorCode.DEVNET_WAN, errorMessage(err)) }
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

  const tag = randomBytes(2).toString('hex')
  const nodes: DevnetNode[] = []
  for (const [i, p] of plan.entries()) {
    const peerId = p.id.peerId.toString()
    nodes.push({
      name: p.name,
      role: p.role,
      home: join(dir, p.name === 'tenant' ? 'tenant' : p.name),
      peerId,
      port: opts.netns === true ? NETNS_PORT : await freePort(),
      owner: p.role === 'provider' ? `souk-${peerId.slice(-12)}` : undefined,
      ...(opts.netns === true ? { netns: `souk-${tag}-${i}`, ip: `${NETNS_SUBNET}.${i + 2}` } : {})
    })
  }
  const wan = opts.wan != null
    ? wanNetwork({ profile: opts.wan.profile, seed: opts.wan.seed, nodes: nodes.map((n) => ({ name: n.name, host: n.ip ?? '127.0.0.1', port: n.port })) })
    : undefined
  for (const n of nodes) if (wan != null) n.region = wan.settingsFor(n.name).region
  const validators = nodes.filter((n) => n.role === 'validator')
  for (const [i, n] of nodes.entries()) {
    await mkdir(n.home, { recursive: true, mode: 0o700 })
    await writeSecretFile(keyFilePath(n.home), encodeKeyFile(plan[i].id))
    await writeFile(join(n.home, 'committee.json'), committee)
    const bootstrap = validators.filter((v) => v !== n).slice(0, 2).map(dialAddr)
    await writeFile(join(n.home, CONFIG_FILE), yamlFor(n, bootstrap, validators.filter((v) => v !== n).map(dialAddr), { bidWindowMs: opts.bidWindowMs ?? 1000, dockerHost, settings: opts.settings, wan: wan?.settingsFor(n.name) }), { mode: 0o600 })
  }
  const state: DevnetState = {
    dir,
    createdAt: Date.now(),
    nodes,
    dockerHost,
    ...(opts.crashPoints === true ? { crashPoints: true } : {}),
    ...(opts.nodeFlags != null && opts.nodeFlags.length > 0 ? { nodeFlags: [...opts.nodeFlags] } : {}),
    ...(opts.netns === true ? { netns: { tag, hub: `souk-${tag}-hub`, cuts: [] } } : {}),
    ...(wan != null ? { wan: { profile: wan.profile, seed: wan.seed } } : {})
  }
  await saveDevnet(state)

  try {
    if (state.netns != null) await buildNamespaces(state)
    for (const n of nodes) {
      await spawnNode(state, n)
      await saveDevnet(state)
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

/** starts a node's daemon from its home, in its namespace if it has one; records its pid */
async function spawnNode (state: DevnetState, n: DevnetNode, opts: { env?: Record<string, string>, logFile?: string } = {}): Promise<void> {
  const log = await open(opts.logFile ?? join(n.home, 'node.log'), 'a')
  const args = [...(state.nodeFlags ?? []).filter((f) => typeof f === 'string' && f.startsWith('--')), BIN, '--home', n.home, 'node', 'start']
  const env: Record<string, string | undefined> = { ...process.env, DOCKER_HOST: state.dockerHost ?? process.env.DOCKER_HOST, ...opts.env }
  if (state.crashPoints === true) env[CRASH_FILE_ENV] = join(n.home, CRASH_POINT_FILE)
  // `ip netns exec` execs the command: the pid is the daemon's
  const child = n.netns != null
    ? spawn('ip', ['netns', 'exec', n.netns, process.execPath, ...args], { detached: true, stdio: ['ignore', log.fd, log.fd], env })
    : spawn(process.execPath, args, { detached: true, stdio: ['ignore', log.fd, log.fd], env })
  const exited = new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.once('error', () => resolve()) })
  child.unref()
  await log.close()
  if (child.pid == null) throw new NodeError('ERR_DEVNET_NODE_DIED', `${n.name} could not be started`)
  children.set(child.pid, { child, exited })
  void exited.then(() => { setTimeout(() => children.delete(child.pid!), 60_000).unref() })
  n.pid = child.pid
}

async function waitReady (n: DevnetNode, signal?: AbortSignal, timeoutMs = 60_000, logFile = join(n.home, 'node.log')): Promise<void> {
  const c = controlClient({ socketPath: controlSocketPath(n.home), home: n.home })
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    signal?.throwIfAborted()
    if (!running(n.pid)) {
      const log = await readFile(logFile, 'utf8').catch(() => '')
      throw new NodeError('ERR_DEVNET_NODE_DIED', `${n.name} exited during start; its log (${logFile}) ends:\n${log.split('\n').slice(-15).join('\n')}`)
    }
    try {
      const s = await c.get<any>('/v1/node')
      // a control socket left by an earlier process of this home answers no more; this one is ours
      if (s != null) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new NodeError('ERR_DEVNET_TIMEOUT', `${n.name} did not start within ${Math.round(timeoutMs / 1000)} s (see ${logFile})`)
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

/** the pid of a node's daemon now: a node restarted by hand has a new one, its ready file knows it */
async function currentPid (n: DevnetNode): Promise<number | undefined> {
  if (running(n.pid)) return n.pid
  const ready = await readFile(join(n.home, READY_FILE), 'utf8').then((t) => JSON.parse(t) as { pid?: number }, () => undefined)
  return ready?.pid != null && alive(ready.pid) ? ready.pid : undefined
}

async function waitGone (pid: number, ms: number): Promise<boolean> {
  const c = children.get(pid)
  if (c != null) {
    await Promise.race([c.exited, new Promise((resolve) => setTimeout(resolve, ms))])
    return !running(pid)
  }
  for (let i = 0; i < ms / 50 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  return !alive(pid)
}

/**
 * Kills one node's daemon at once (SIGKILL: no clean-up, as a crash) and waits until it is gone.
 * Resolves false when it was not running.
 */
export async function devnetKill (dirIn: string, name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<boolean> {
  const state = await requireDevnet(dirIn)
  const n = findNode(state, name)
  const pid = await currentPid(n)
  if (pid == null) return false
  try { process.kill(pid, signal) } catch { return false }
  if (!await waitGone(pid, signal === 'SIGKILL' ? 10_000 : 20_000) && signal !== 'SIGKILL') {
    try { process.kill(pid, 'SIGKILL') } catch {}
    await waitGone(pid, 10_000)
  }
  return true
}

/** Whether a node's daemon is running (for a process this one started, its exit is known exactly). */
export async function devnetRunning (dirIn: string, name: string): Promise<boolean> {
  const state = await requireDevnet(dirIn)
  return await currentPid(findNode(state, name)) != null
}

/** Starts one node again from its home (after a crash or a stop) and waits until it answers. */
export async function devnetStart (dirIn: string, name: string, opts: { env?: Record<string, string>, logFile?: string, signal?: AbortSignal, timeoutMs?: number } = {}): Promise<DevnetNode> {
  const state = await requireDevnet(dirIn)
  const n = findNode(state, name)
  if (await currentPid(n) != null) throw new NodeError('ERR_DEVNET_RUNNING', `${name} is already running`)
  await spawnNode(state, n, opts)
  await saveDevnet(state)
  await waitReady(n, opts.signal, opts.timeoutMs, opts.logFile)
  return n
}

/**
 * Cuts every link between a node of `a` and a node of `b` (names), both ways: packets between
 * them are dropped silently, connections stall as on a failed network. Needs a devnet in namespaces.
 */
export async function devnetCut (dirIn: string, a: string[], b: string[]): Promise<Array<[string, string]>> {
  const state = await requireDevnet(dirIn)
  if (state.netns == null) throw new NodeError('ERR_DEVNET_NETNS', 'links can be cut only in a devnet started with --netns')
  const made: Array<[string, string]> = []
  for (const x of a.map((name) => findNode(state, name))) {
    for (const y of b.map((name) => findNode(state, name))) {
      if (x === y || state.netns.cuts.some(([p, q]) => (p === x.name && q === y.name) || (p === y.name && q === x.name))) continue
      await run('ip', ['-n', x.netns!, 'route', 'add', 'blackhole', `${y.ip!}/32`])
      await run('ip', ['-n', y.netns!, 'route', 'add', 'blackhole', `${x.ip!}/32`])
      state.netns.cuts.push([x.name, y.name])
      made.push([x.name, y.name])
    }
  }
  await saveDevnet(state)
  return made
}

/** Cuts the devnet into groups: every node in no group forms one more group of its own. */
export async function devnetPartition (dirIn: string, groups: string[][]): Promise<void> {
  const state = await requireDevnet(dirIn)
  const listed = new Set(groups.flat())
  const all = [...groups, state.nodes.map((n) => n.name).filter((n) => !listed.has(n))].filter((g) => g.length > 0)
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) await devnetCut(dirIn, all[i], all[j])
}

/** Restores every link cut. */
export async function devnetHeal (dirIn: string): Promise<number> {
  const state = await requireDevnet(dirIn)
  if (state.netns == null) throw new NodeError('ERR_DEVNET_NETNS', 'links can be healed only in a devnet started with --netns')
  let healed = 0
  for (const [p, q] of state.netns.cuts) {
    const x = findNode(state, p)
    const y = findNode(state, q)
    await run('ip', ['-n', x.netns!, 'route', 'del', 'blackhole', `${y.ip!}/32`]).catch(() => {})
    await run('ip', ['-n', y.netns!, 'route', 'del', 'blackhole', `${x.ip!}/32`]).catch(() => {})
    healed++
  }
  state.netns.cuts = []
  await saveDevnet(state)
  return healed
}

export interface DevnetNodeStatus { name: string, role: string, peerId: string, pid?: number, running: boolean, peers?: number, home: string, netns?: string, ip?: string }

export async function devnetStatus (dirIn: string): Promise<DevnetNodeStatus[]> {
  const state = await requireDevnet(dirIn)
  return await Promise.all(state.nodes.map(async (n) => {
    const pid = await currentPid(n)
    const s = pid == null ? undefined : await controlClient({ socketPath: controlSocketPath(n.home) }).get<any>('/v1/node').catch(() => undefined)
    return { name: n.name, role: n.role, peerId: n.peerId, pid: pid ?? n.pid, running: s != null, peers: s?.peers, home: n.home, ...(n.netns != null ? { netns: n.netns, ip: n.ip } : {}) }
  }))
}

/** Stops every node (cleanly, then by force), removes whatever containers its providers left and its namespaces. */
export async function devnetDown (dirIn: string, opts: { dockerHost?: string } = {}): Promise<{ stopped: number, removed: number }> {
  const dir = resolve(dirIn)
  const state = await readDevnet(dir)
  if (state == null) throw new NodeError('ERR_NO_DEVNET', `no devnet in ${dirIn}`)
  let stopped = 0
  await Promise.all(state.nodes.map(async (n) => {
    const pid = await currentPid(n)
    if (pid == null) return
    await controlClient({ socketPath: controlSocketPath(n.home) }).post('/v1/node/stop').catch(() => { try { process.kill(pid, 'SIGTERM') } catch {} })
    if (!await waitGone(pid, 15_000)) {
      try { process.kill(pid, 'SIGKILL') } catch {}
      await waitGone(pid, 5_000)
    }
    stopped++
  }))
  let removed = 0
  const d = dockerClient(opts.dockerHost ?? state.dockerHost)
  for (const owner of state.nodes.map((n) => n.owner).filter((o): o is string => o != null)) {
    const filters = { label: [`${LABEL_INSTANCE}=${owner}`] }
    try {
      for (const c of await d.listContainers({ all: true, filters })) { await d.getContainer(c.Id).remove({ force: true, v: true }); removed++ }
      for (const nw of await d.listNetworks({ filters })) await d.getNetwork(nw.Id).remove().catch(() => {})
      for (const v of (await d.listVolumes({ filters })).Volumes ?? []) await d.getVolume(v.Name).remove().catch(() => {})
    } catch {}
  }
  await removeNamespaces(state)
  for (const n of state.nodes) n.pid = undefined
  if (state.netns != null) state.netns.cuts = []
  await saveDevnet(state)
  return { stopped, removed }
}
