// What an operator needs to know about a running node, as named checks with a fix each:
// peers connected, bootstrap reached, committee in step, the runtime answering, GPUs attachable,
// disk space, clock skew against peers. `souk node status` exits non-zero when one fails;
// GET /v1/health on the control socket answers the same report.
import { statfs } from 'node:fs/promises'
import { peerIdFromString } from '@libp2p/peer-id'
// by its own file: the folder's index also holds the runtimes, which load their clients
import { detectNvidiaGpus } from '../runtime/nvidia-smi.ts'
import type { GpuSupport } from '../runtime/index.ts'
import { peerIdOfPublicKey } from '../identity/index.ts'
import { errorMessage } from '../util/index.ts'
import type { Souk } from './create-node.ts'
import { runtimeEndpoint } from './runtime-endpoint.ts'
import { withTimeout } from '../runtime/timeout.ts'

const noAnswer = (ms: number) => (): Error => new Error(`no answer within ${ms / 1000} s`)

export const HEALTH_CHECKS = ['peers', 'bootstrap', 'committee', 'runtime', 'storage', 'gpu', 'disk', 'clock'] as const
export type HealthCheckName = typeof HEALTH_CHECKS[number]
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip'

export interface HealthCheck {
  name: HealthCheckName
  status: CheckStatus
  /** what was found */
  detail: string
  /** what to do about it, when it is not ok */
  fix?: string
}

export interface HealthReport {
  /** no check failed */
  ok: boolean
  /** the names of the failing checks */
  failing: HealthCheckName[]
  checks: HealthCheck[]
  time: number
}

export interface HealthInit {
  /** a validator whose height has not moved this long is stalled; default max(30 s, 4 × idle pause) */
  committeeStallMs?: number
  /** free space below either is a failure: default 1 GiB and 5 % */
  minFreeBytes?: number
  minFreeRatio?: number
  /** clock offset against the peers' median: warn, fail; default 2 s and 10 s (messages more than 30 s ahead are refused) */
  warnSkewMs?: number
  maxSkewMs?: number
  /** how long the runtime has to answer; default 5 s */
  runtimeTimeoutMs?: number
  /** how often the checks run on their own, for the souk_health_check metric; default 30 s, 0 = never */
  intervalMs?: number
  /** how GPU support is found; default: the runtime's engine or cluster, nvidia-smi on PATH */
  gpuSupport?: () => Promise<GpuSupport>
  detectGpus?: () => Promise<number>
}

export interface HealthMonitor {
  check: (opts?: { signal?: AbortSignal }) => Promise<HealthReport>
  stop: () => void
}

/** peers the clock check asks (one time exchange each) */
const CLOCK_PEERS = 8
const GiB = 1024 ** 3
const fmtBytes = (n: number): string => n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`

export function healthMonitor (node: Souk, init: HealthInit = {}): HealthMonitor {
  const config = node.config
  const stallMs = init.committeeStallMs ?? Math.max(30_000, 4 * config.committee.idleBatchIntervalMs)
  const minFreeBytes = init.minFreeBytes ?? GiB
  const minFreeRatio = init.minFreeRatio ?? 0.05
  const warnSkewMs = init.warnSkewMs ?? 2_000
  const maxSkewMs = init.maxSkewMs ?? 10_000
  const runtimeTimeoutMs = init.runtimeTimeoutMs ?? 5_000
  const endpoint = runtimeEndpoint(config)
  let gpuCache: { at: number, support: GpuSupport, detected: number } | undefined

  // the committee's progress, sampled between checks so a stall is seen without a check running
  let lastHeight = -1
  let lastChangeAt = Date.now()
  const sample = (): void => {
    const h = node.validator?.committee.status().height
    if (h == null) return
    if (h !== lastHeight) { lastHeight = h; lastChangeAt = Date.now() }
  }
  sample()
  const sampler = node.validator != null ? setInterval(sample, 1000) : undefined
  sampler?.unref()

  function peers (): HealthCheck {
    const n = node.net.libp2p.getPeers().length
    if (n > 0) return { name: 'peers', status: 'ok', detail: `${n} peer${n === 1 ? '' : 's'} connected` }
    return {
      name: 'peers',
      status: 'fail',
      detail: 'no peers connected',
      fix: config.network.bootstrap.length === 0
        ? 'set network.bootstrap in souk.yaml to the address of a node of the network (`souk node status` on that node prints it), then restart'
        : 'see the bootstrap check; make sure this node\'s listen port is open to the network (docs/operations.md, "Ports")'
    }
  }

  function bootstrap (): HealthCheck {
    const states = node.net.bootstrap.status()
    if (states.length === 0) return { name: 'bootstrap', status: 'skip', detail: 'no bootstrap addresses configured (a network\'s first node needs none)' }
    const reached = states.filter((s) => s.state === 'connected')
    const failed = states.filter((s) => s.state === 'failed')
    if (reached.length > 0) {
      const detail = `${reached.length} of ${states.length} reached` + (failed.length > 0 ? `; ${failed.map((s) => s.message).join('; ')}` : '')
      return { name: 'bootstrap', status: failed.length > 0 ? 'warn' : 'ok', detail, ...(failed.length > 0 ? { fix: 'correct or remove the failing addresses in network.bootstrap' } : {}) }
    }
    if (failed.length === 0) return { name: 'bootstrap', status: 'warn', detail: `dialling ${states.length} bootstrap address${states.length === 1 ? '' : 'es'}` }
    return { name: 'bootstrap', status: 'fail', detail: failed.map((s) => s.message).join('; '), fix: 'correct network.bootstrap in souk.yaml (each address ends in /p2p/<peer id> of that node), then restart' }
  }

  function committee (): HealthCheck {
    const v = node.validator
    if (v == null) {
      const files = node.committeeFiles()
      const members = files[files.length - 1]?.info.validators ?? []
      const connected = new Set(node.net.libp2p.getPeers().map((p) => p.toString()))
      const reached = members.filter((k: Uint8Array) => { try { return connected.has(peerIdOfPublicKey(k)) } catch { return false } }).length
      return {
        name: 'committee',
        status: reached > 0 ? 'ok' : 'warn',
        detail: `connected to ${reached} of ${members.length} validators of the committee`,
        ...(reached > 0 ? {} : { fix: 'leases reach this node through gossip from the committee; with no validator among its peers they arrive late or not at all: add a validator\'s address to network.bootstrap' })
      }
    }
    sample()
    const s = v.committee.status()
    if (!s.validator) return { name: 'committee', status: 'warn', detail: `this node is not a member of epoch ${s.epoch}'s committee (height ${s.height})`, fix: 'ask to join with `souk committee join`; members approve it' }
    const stuckMs = Date.now() - lastChangeAt
    if (stuckMs > stallMs) {
      const ahead = s.peers.filter((p) => p.height > s.height).length
      return {
        name: 'committee',
        status: 'fail',
        detail: `stalled: height ${s.height} for ${Math.round(stuckMs / 1000)} s, round ${s.round}, step ${s.step}; ${s.peers.length} of ${s.members.length - 1} other validators heard${ahead > 0 ? `, ${ahead} ahead of this node` : ''}`,
        fix: `a height needs ${thresholdText(s.members.length)} validators; check that they run and reach each other (network.directPeers lists them, their ports are open) and that clocks agree (the clock check)`
      }
    }
    return { name: 'committee', status: 'ok', detail: `height ${s.height}, round ${s.round}, epoch ${s.epoch}, ${s.peers.length} of ${s.members.length - 1} other validators heard` }
  }

  async function runtime (): Promise<HealthCheck> {
    const p = node.provider
    if (p == null) return { name: 'runtime', status: 'skip', detail: 'not a provider' }
    try {
      const leases = await withTimeout(p.runtime.list(), runtimeTimeoutMs, noAnswer(runtimeTimeoutMs))
      return { name: 'runtime', status: 'ok', detail: `${p.runtime.name} at ${endpoint} answers (${leases.length} lease${leases.length === 1 ? '' : 's'} deployed)` }
    } catch (err) {
      return {
        name: 'runtime',
        status: 'fail',
        detail: `${p.runtime.name} at ${endpoint} does not answer: ${errorMessage(err).slice(0, 200)}`,
        fix: p.runtime.name === 'docker'
          ? 'start the Docker engine, or point provider.dockerHost at it (DOCKER_HOST in souk\'s environment overrides souk.yaml); new leases cannot start until it answers'
          : 'check the kubeconfig (provider.kubeconfig) and that the cluster\'s API server answers'
      }
    }
  }

  /** storage the runtime cannot hold to size: declined orders are lost business, accepted ones a risk the operator took */
  async function storage (): Promise<HealthCheck> {
    const p = node.provider
    if (p == null) return { name: 'storage', status: 'skip', detail: 'not a provider' }
    let st: { declinedStorage?: Array<{ kind: string, why: string }>, acceptedUnenforcedStorage?: Array<{ kind: string, why: string }> }
    try {
      st = await withTimeout(p.status(), runtimeTimeoutMs, noAnswer(runtimeTimeoutMs)) as typeof st
    } catch (err) {
      return { name: 'storage', status: 'skip', detail: `provider status unavailable: ${errorMessage(err).slice(0, 200)}` }
    }
    const declined = st.declinedStorage ?? []
    const accepted = st.acceptedUnenforcedStorage ?? []
    if (declined.length > 0) {
      return {
        name: 'storage',
        status: 'warn',
        detail: `declines every order that asks for ${declined.map((d) => d.kind).join(' or ')} storage: ${declined.map((d) => d.why).join('; ')}`,
        fix: 'most deployment files ask for ephemeral storage: give the engine a storage driver that can limit it (overlay2 on xfs mounted with pquota; docs/provider-docker.md, "What a lease becomes"), or set provider.sandbox.unenforcedStorage: accept to take such orders without the limit'
      }
    }
    if (accepted.length > 0) return { name: 'storage', status: 'warn', detail: `accepts ${accepted.map((d) => d.kind).join(' and ')} storage it cannot hold to size (provider.sandbox.unenforcedStorage): a lease can fill the disk` }
    return { name: 'storage', status: 'ok', detail: 'every storage kind offered is held to its size' }
  }

  async function gpuSupport (): Promise<GpuSupport> {
    if (init.gpuSupport != null) return await init.gpuSupport()
    const { runtimeGpuSupport } = await import('./gpu-offer.ts')
    return await runtimeGpuSupport(config)
  }

  async function gpu (): Promise<HealthCheck> {
    const p = node.provider
    if (p == null) return { name: 'gpu', status: 'skip', detail: 'not a provider' }
    if (gpuCache == null || Date.now() - gpuCache.at > 60_000) {
      const detected = init.detectGpus != null ? await init.detectGpus() : (await detectNvidiaGpus({ timeoutMs: 5_000 }).catch(() => [])).length
      gpuCache = { at: Date.now(), detected, support: detected > 0 || p.inventory.capacity().gpus.length > 0 ? await gpuSupport() : { reason: 'no GPUs' } }
    }
    const offered = p.inventory.capacity().gpus.length
    const { detected, support } = gpuCache
    if (offered === 0 && detected === 0) return { name: 'gpu', status: 'skip', detail: 'no GPUs on this host' }
    if (offered > 0 && support.attach == null) {
      return { name: 'gpu', status: 'fail', detail: `offering ${offered} GPU${offered === 1 ? '' : 's'} the runtime cannot attach: ${support.reason}`, fix: 'make the runtime able to attach GPUs (docs/operations.md, "GPUs"), or stop offering them; a GPU lease won here fails at start' }
    }
    if (offered === 0) return { name: 'gpu', status: 'warn', detail: `${detected} GPU${detected === 1 ? '' : 's'} found by nvidia-smi, none offered: ${support.reason}` }
    return { name: 'gpu', status: 'ok', detail: `${offered} GPU${offered === 1 ? '' : 's'} offered; ${support.reason}` }
  }

  async function disk (): Promise<HealthCheck> {
    try {
      const st = await statfs(node.home)
      const free = Number(st.bavail) * Number(st.bsize)
      const total = Number(st.blocks) * Number(st.bsize)
      const ratio = total > 0 ? free / total : 1
      const detail = `${fmtBytes(free)} free of ${fmtBytes(total)} (${(ratio * 100).toFixed(0)} %) at ${node.home}`
      if (free < minFreeBytes || ratio < minFreeRatio) return { name: 'disk', status: 'fail', detail, fix: 'free space on that file system: the store writes every lease and vote there, and a full disk stops the node' }
      return { name: 'disk', status: 'ok', detail }
    } catch (err) {
      return { name: 'disk', status: 'fail', detail: `cannot read the file system of ${node.home}: ${errorMessage(err)}`, fix: 'check the node home' }
    }
  }

  async function clock (signal?: AbortSignal): Promise<HealthCheck> {
    const peers = node.net.libp2p.getPeers().slice(0, CLOCK_PEERS)
    if (peers.length === 0) return { name: 'clock', status: 'skip', detail: 'no peers to compare with' }
    const answers = (await Promise.allSettled(peers.map(async (p) => await node.net.clockOffset(peerIdFromString(p.toString()), { signal })))).flatMap((r) => r.status === 'fulfilled' ? [r.value] : [])
    if (answers.length === 0) return { name: 'clock', status: 'skip', detail: `none of ${peers.length} peers answered the time protocol` }
    const offsets = answers.map((a) => a.offsetMs).sort((a, b) => a - b)
    const median = offsets[Math.floor(offsets.length / 2)]
    const rtts = answers.map((a) => Math.round(a.rttMs)).sort((a, b) => a - b)
    const detail = `this node's clock is ${Math.abs(Math.round(median))} ms ${median > 0 ? 'behind' : 'ahead of'} the median of ${answers.length} peer${answers.length === 1 ? '' : 's'} (round trips ${rtts[0]}${rtts.length > 1 ? `–${rtts[rtts.length - 1]}` : ''} ms)`
    const status: CheckStatus = Math.abs(median) > maxSkewMs ? 'fail' : Math.abs(median) > warnSkewMs ? 'warn' : 'ok'
    return { name: 'clock', status, detail, ...(status === 'ok' ? {} : { fix: 'synchronise the clock (systemd-timesyncd or chrony): messages more than 30 s ahead are refused by every node, and a validator\'s timestamps move auction deadlines' }) }
  }

  let last: HealthReport | undefined
  async function check (opts: { signal?: AbortSignal } = {}): Promise<HealthReport> {
    const checks = [peers(), bootstrap(), committee(), ...await Promise.all([runtime(), storage(), gpu(), disk(), clock(opts.signal)])]
    const failing = checks.filter((c) => c.status === 'fail').map((c) => c.name)
    last = { ok: failing.length === 0, failing, checks, time: Date.now() }
    return last
  }
  // the alert rules (deploy/prometheus/souk-rules.yml) read these
  node.metrics.gauge('souk_health_check', 'the operator checks of souk node status: 1 passing (ok, warn, skip), 0 failing, by check', (g) => {
    for (const c of last?.checks ?? []) g.set(c.status === 'fail' ? 0 : 1, { check: c.name })
  })
  node.metrics.gauge('souk_peers_connected', 'peers this node has a connection to', (g) => g.set(node.net.libp2p.getPeers().length))
  const intervalMs = init.intervalMs ?? 30_000
  let running = false
  const ticker = intervalMs > 0 ? setInterval(() => { if (running) return; running = true; void check().catch(() => {}).finally(() => { running = false }) }, intervalMs) : undefined
  ticker?.unref()

  return {
    check,
    stop () {
      if (sampler != null) clearInterval(sampler)
      if (ticker != null) clearInterval(ticker)
    }
  }
}

/** 2f+1 of n = 3f+1, as the committee counts it: for n = 5 that is 4 */
function thresholdText (n: number): string {
  const f = Math.floor((n - 1) / 3)
  return `${n - f} of ${n}`
}
