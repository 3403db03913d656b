// One running devnet's nodes: killed, started again, asked how they are, and all stopped.
import { resolve } from 'node:path'
import { controlClient } from '../../api/index.ts'
import { LABEL_INSTANCE } from '../../runtime/constants.ts'
import { dockerClient } from '../../runtime/docker-client.ts'
import { controlSocketPath } from '../daemon.ts'
import { NodeError } from '../errors.ts'
import { removeNamespaces } from './netns.ts'
import { currentPid, spawnNode, waitGone, waitReady } from './processes.ts'
import { findNode, readDevnet, requireDevnet, saveDevnet } from './state.ts'
import type { DevnetNode, DevnetNodeStatus, NodeAnswer } from './types.ts'

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

export async function devnetStatus (dirIn: string): Promise<DevnetNodeStatus[]> {
  const state = await requireDevnet(dirIn)
  return await Promise.all(state.nodes.map(async (n) => {
    const pid = await currentPid(n)
    const s = pid == null ? undefined : await controlClient({ socketPath: controlSocketPath(n.home) }).get<NodeAnswer>('/v1/node').catch(() => undefined)
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
