// The nodes' daemons: started detached from their homes, watched until they answer or exit.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { soukCliPath } from '../cli-path.ts'
import { controlClient } from '../../api/index.ts'
import { CRASH_FILE_ENV } from '../../store/index.ts'
import { controlSocketPath, READY_FILE } from '../daemon.ts'
import { NodeError } from '../errors.ts'
import { CRASH_POINT_FILE } from './constants.ts'
import type { DevnetNode, DevnetState, NodeAnswer } from './types.ts'

const BIN = soukCliPath()

export const alive = (pid: number | undefined): boolean => {
  if (pid == null) return false
  try { process.kill(pid, 0); return true } catch { return false }
}

/** processes this process started: their exit is an event, not a guess from kill(pid, 0) (zombies pass it) */
const children = new Map<number, { child: ChildProcess, exited: Promise<void> }>()

export const running = (pid: number | undefined): boolean => {
  if (pid == null) return false
  const c = children.get(pid)
  if (c != null) return c.child.exitCode == null && c.child.signalCode == null
  return alive(pid)
}

/** starts a node's daemon from its home, in its namespace if it has one; records its pid */
export async function spawnNode (state: DevnetState, n: DevnetNode, opts: { env?: Record<string, string>, logFile?: string } = {}): Promise<void> {
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

export async function waitReady (n: DevnetNode, signal?: AbortSignal, timeoutMs = 60_000, logFile = join(n.home, 'node.log')): Promise<void> {
  const c = controlClient({ socketPath: controlSocketPath(n.home), home: n.home })
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    signal?.throwIfAborted()
    if (!running(n.pid)) {
      const log = await readFile(logFile, 'utf8').catch(() => '')
      throw new NodeError('ERR_DEVNET_NODE_DIED', `${n.name} exited during start; its log (${logFile}) ends:\n${log.split('\n').slice(-15).join('\n')}`)
    }
    try {
      const s = await c.get<NodeAnswer>('/v1/node')
      // a control socket left by an earlier process of this home answers no more; this one is ours
      if (s != null) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new NodeError('ERR_DEVNET_TIMEOUT', `${n.name} did not start within ${Math.round(timeoutMs / 1000)} s (see ${logFile})`)
}

/** every node has a peer, and the tenant reaches at least one provider through gossip */
export async function waitConnected (nodes: DevnetNode[], signal?: AbortSignal): Promise<void> {
  const until = Date.now() + 30_000
  while (Date.now() < until) {
    signal?.throwIfAborted()
    const peers = await Promise.all(nodes.map(async (n) => await controlClient({ socketPath: controlSocketPath(n.home) }).get<NodeAnswer>('/v1/node').then((s) => s.peers, () => 0)))
    if (peers.every((p) => p >= 2)) {
      // a moment for gossip meshes to form on the fresh connections
      await new Promise((resolve) => setTimeout(resolve, 1500))
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new NodeError('ERR_DEVNET_TIMEOUT', 'the devnet nodes did not connect to each other within 30 s')
}

/**
 * A node behind NAT is reachable once it holds a slot on its relay: until then a tenant that wins
 * it a lease could not hand it the manifest, so the devnet is not up before that.
 */
export async function waitRelayed (n: DevnetNode, signal?: AbortSignal, timeoutMs = 90_000): Promise<void> {
  const c = controlClient({ socketPath: controlSocketPath(n.home) })
  const until = Date.now() + timeoutMs
  let last = 'unknown'
  while (Date.now() < until) {
    signal?.throwIfAborted()
    last = await c.get<NodeAnswer>('/v1/node').then((s) => s.reachability ?? 'unknown', () => last)
    if (last === 'relayed') return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new NodeError('ERR_DEVNET_TIMEOUT', `${n.name}, behind NAT, made no reservation on its relay within ${Math.round(timeoutMs / 1000)} s (its reachability is ${last}; see ${join(n.home, 'node.log')})`)
}

/** the pid of a node's daemon now: a node restarted by hand has a new one, its ready file knows it */
export async function currentPid (n: DevnetNode): Promise<number | undefined> {
  if (running(n.pid)) return n.pid
  const ready = await readFile(join(n.home, READY_FILE), 'utf8').then((t) => JSON.parse(t) as { pid?: number }, () => undefined)
  return ready?.pid != null && alive(ready.pid) ? ready.pid : undefined
}

export async function waitGone (pid: number, ms: number): Promise<boolean> {
  const c = children.get(pid)
  if (c != null) {
    await Promise.race([c.exited, new Promise((resolve) => setTimeout(resolve, ms))])
    return !running(pid)
  }
  for (let i = 0; i < ms / 50 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  return !alive(pid)
}

