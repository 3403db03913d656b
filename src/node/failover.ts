// Failover: a deployment whose provider is lost (no status answer and no usage statement for
// `lostAfterMs`) or failed (never took the manifest within `manifestTimeoutMs`) is closed with
// that code, ordered again with the provider on the order's deny list, and its manifest handed
// to the next winner; at most `maxFailovers` times per deployment, so it never loops. Everything
// happens in the tenant's node: the node must run for it, and when it starts it checks its leases
// and fails over those whose provider is gone. Persistent data stays with the lost provider.
import { CloseCode } from '../wire/index.ts'
import type { WireAccept } from '../wire/index.ts'
import type { LeaseEvent } from '../net/index.ts'
import type { LoadedSdl } from '../sdl/index.ts'
import { publicKeyOfPeerId } from '../identity/index.ts'
import { errorCode, errorMessage } from '../util/index.ts'
import type { Logger } from './logger.ts'
import type { Deployment, DeployOptions, DeployProgressEvent } from './tenant/index.ts'

/** how one deployment fails over (souk.yaml `tenant.failover`, or per deployment) */
export interface FailoverSettings {
  /** no status answer and no usage statement from the provider for this long: it is lost */
  lostAfterMs: number
  /** how often a running lease's provider is asked for its status */
  probeMs: number
  /** the provider must take the manifest within this long, or it failed */
  manifestTimeoutMs: number
  /** failovers at most, per deployment (its whole chain of leases) */
  maxFailovers: number
}

export const DEFAULT_FAILOVER: FailoverSettings = { lostAfterMs: 60_000, probeMs: 5_000, manifestTimeoutMs: 30_000, maxFailovers: 3 }

/** one step of a deployment's history across providers, as the tenant's node saw it */
export interface FailoverStep {
  time: number
  type: 'lost' | 'failed' | 'closed' | 'ordered' | 'running' | 'gave-up'
  /** the lease (order ID) the step is about */
  order: string
  provider?: string
  code?: CloseCode
  message: string
}

/** progress of a failover, as DeployOptions.onProgress and TenantRole.onFailover report it */
export type FailoverProgressEvent =
  | { type: 'failover:provider-lost', detail: { order: string, provider: string, silentMs: number } }
  | { type: 'failover:provider-failed', detail: { order: string, provider: string, reason: string } }
  | { type: 'failover:closed', detail: { order: string, provider: string, code: CloseCode } }
  | { type: 'failover:ordering', detail: { from: string, failover: number, of: number, excluded: string[] } }
  | { type: 'failover:running', detail: { order: string, provider: string, failovers: number } }
  | { type: 'failover:gave-up', detail: { order: string, reason: string } }

/** what the failover needs of the tenant role */
export interface FailoverKit {
  logger: Logger
  defaults: FailoverSettings & { enabled: boolean }
  accept: () => WireAccept | undefined
  get: (order: string) => Deployment | undefined
  find: (order: string) => Deployment
  all: () => Deployment[]
  save: (d: Deployment) => void
  /** the plain deploy (no failover of its own) */
  deploy: (sdl: string | LoadedSdl, opts: DeployOptions) => Promise<Deployment>
  /** closes with a code, without waiting for the provider to hear it */
  close: (d: Deployment, reason: string, code: CloseCode) => void
  /** one status request; true when the provider answered */
  probe: (d: Deployment, signal: AbortSignal) => Promise<boolean>
  status: (order: string, opts: { signal?: AbortSignal }) => Promise<unknown>
  events: (order: string, opts: { follow?: boolean, signal?: AbortSignal }) => AsyncGenerator<LeaseEvent>
  stopping: AbortSignal
}

export interface Failover {
  deploy: (sdl: string | LoadedSdl, opts?: DeployOptions) => Promise<Deployment>
  status: (order: string, opts?: { signal?: AbortSignal }) => Promise<unknown>
  events: (order: string, opts?: { follow?: boolean, signal?: AbortSignal }) => AsyncGenerator<LeaseEvent>
  onFailover: (fn: (e: FailoverProgressEvent) => void) => () => void
  start: () => void
  stop: () => Promise<void>
}

const sleep = async (ms: number, signal: AbortSignal): Promise<void> => {
  await new Promise<void>((resolve) => {
    const t = setTimeout(done, ms)
    function done (): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve() }
    signal.addEventListener('abort', done, { once: true })
  })
}

/** a manifest refusal that says the tenant's manifest was wrong, not that the provider failed */
const TENANT_FAULTS = new Set(['not-tenant', 'hash-mismatch', 'invalid-manifest', 'exceeds-order', 'out-of-sequence', 'malformed'])
export const isTenantFault = (code: string): boolean => TENANT_FAULTS.has(code)

export function failover (kit: FailoverKit): Failover {
  const { logger } = kit
  const listeners = new Set<(e: FailoverProgressEvent) => void>()
  /** deployments being failed over now (their order IDs) */
  const busy = new Set<string>()
  /** deployments a deploy() call with failover is still driving: it fails them over itself */
  const driving = new Set<string>()
  const running = new Set<Promise<unknown>>()
  let startedAt = Date.now()
  let timer: ReturnType<typeof setTimeout> | undefined

  const emitAll = (e: FailoverProgressEvent, extra?: (e: FailoverProgressEvent) => void): void => {
    for (const fn of [...listeners, ...(extra != null ? [extra] : [])]) { try { fn(e) } catch {} }
  }
  const step = (d: Deployment, s: FailoverStep): void => {
    d.history = [...(d.history ?? []), s].slice(-64)
    kit.save(d)
  }
  /** the end of this deployment's failovers: said once, and never tried again */
  const giveUp = (d: Deployment, why: string, order = d.order): void => {
    delete d.failingOver
    delete d.failover
    step(d, { time: Date.now(), type: 'gave-up', order, message: why })
  }
  const chainOf = (d: Deployment): Deployment[] => {
    const out: Deployment[] = []
    let cur: Deployment | undefined = kit.get(d.origin ?? d.order) ?? d
    const seen = new Set<string>()
    while (cur != null && !seen.has(cur.order)) { seen.add(cur.order); out.push(cur); cur = cur.replacedBy != null ? kit.get(cur.replacedBy) : undefined }
    return out
  }
  const latest = (d: Deployment): Deployment => chainOf(d).at(-1) ?? d

  /**
   * Replaces `d`, whose provider is lost or failed: closes it with the code, orders the same
   * deployment again without the providers its chain left, hands over the manifest. Each step is
   * saved first, so a node stopped half-way goes on when it starts. Returns the new deployment.
   */
  async function replace (d: Deployment, code: CloseCode, reason: string, emit?: (e: DeployProgressEvent | FailoverProgressEvent) => void): Promise<Deployment | undefined> {
    if (busy.has(d.order)) return undefined
    busy.add(d.order)
    const say = (e: FailoverProgressEvent): void => { emitAll(e, emit as ((e: FailoverProgressEvent) => void) | undefined) }
    try {
      const settings = d.failover ?? kit.defaults
      const provider = d.provider ?? '?'
      if (d.failingOver == null) {
        d.failingOver = { code, reason, at: Date.now() }
        step(d, { time: Date.now(), type: code === CloseCode.PROVIDER_LOST ? 'lost' : 'failed', order: d.order, provider, code, message: reason })
      }
      // the close: a failed deployment was closed with its code already (fail() in the tenant role)
      if (d.state !== 'closed' && d.state !== 'closing' && d.close == null && d.state !== 'failed') kit.close(d, reason, code)
      if (d.history?.some((s) => s.type === 'closed' && s.order === d.order) !== true) {
        step(d, { time: Date.now(), type: 'closed', order: d.order, provider, code, message: `closed as ${code}` })
        say({ type: 'failover:closed', detail: { order: d.order, provider, code } })
      }
      const count = (d.failovers ?? 0) + 1
      if (count > settings.maxFailovers) {
        const why = `${settings.maxFailovers} failover(s) already; the deployment stops here (tenant.failover.maxFailovers)`
        giveUp(d, why)
        say({ type: 'failover:gave-up', detail: { order: d.order, reason: why } })
        return undefined
      }
      if (d.source == null) {
        const why = 'the deployment file was not kept with the deployment; deploy it again'
        giveUp(d, why)
        say({ type: 'failover:gave-up', detail: { order: d.order, reason: why } })
        return undefined
      }
      const left = [...new Set([...(d.excluded ?? []), ...(d.provider != null ? [d.provider] : [])])]
      const base = kit.accept()
      const deny = [...(base?.deny ?? []), ...left.map((p) => publicKeyOfPeerId(p)).filter((k): k is Uint8Array => k != null)]
      const accept: WireAccept = { maxFailurePermille: base?.maxFailurePermille ?? 500, minServed: base?.minServed ?? 0, allow: base?.allow ?? [], deny: deny.slice(-64) }
      say({ type: 'failover:ordering', detail: { from: d.order, failover: count, of: settings.maxFailovers, excluded: left } })
      let next: Deployment | undefined
      try {
        next = await kit.deploy(d.source, {
          signal: kit.stopping,
          accept,
          failover: false,
          manifestTimeoutMs: settings.manifestTimeoutMs,
          onProgress: (e) => {
            if (e.type === 'deploy:order-published') {
              // linked as soon as it exists, so the chain survives a stop from here on
              const n = kit.get(e.detail.order)
              if (n != null) {
                Object.assign(n, { origin: d.origin ?? d.order, replaces: d.order, failovers: count, failover: settings, excluded: left, source: d.source, history: [...(d.history ?? [])] })
                step(n, { time: Date.now(), type: 'ordered', order: n.order, message: `ordered again after ${code} of ${d.order.slice(0, 12)}, without ${left.length} provider(s)` })
              }
              d.replacedBy = e.detail.order
              kit.save(d)
            }
            emit?.(e)
          }
        })
      } catch (err) {
        const failed = d.replacedBy != null ? kit.get(d.replacedBy) : undefined
        if (failed != null && failed.state === 'failed' && failed.closeCode === CloseCode.PROVIDER_FAILED && !kit.stopping.aborted) {
          // the next provider never took the manifest either: fail over from it (bounded by maxFailovers)
          busy.delete(d.order)
          return await failFrom(failed, emit)
        }
        const why = `ordering again failed: ${errorMessage(err)}`
        const tip = failed ?? d
        if (!kit.stopping.aborted) {
          // on the lease that was lost and on the order that did not replace it
          if (tip !== d) giveUp(d, why, tip.order)
          giveUp(tip, why)
          say({ type: 'failover:gave-up', detail: { order: tip.order, reason: why } })
        }
        throw err
      }
      delete d.failingOver
      kit.save(d)
      step(next, { time: Date.now(), type: 'running', order: next.order, provider: next.provider, message: `running on ${next.provider ?? '?'} after ${count} failover(s)` })
      say({ type: 'failover:running', detail: { order: next.order, provider: next.provider ?? '?', failovers: count } })
      logger.info({ lease: next.order.slice(0, 12), from: d.order.slice(0, 12), provider: next.provider, failovers: count }, 'failover: the deployment runs again')
      return next
    } finally {
      busy.delete(d.order)
    }
  }

  async function failFrom (d: Deployment, emit?: (e: DeployProgressEvent | FailoverProgressEvent) => void): Promise<Deployment | undefined> {
    const reason = d.reason ?? 'the provider never took the manifest'
    emitAll({ type: 'failover:provider-failed', detail: { order: d.order, provider: d.provider ?? '?', reason } }, emit as ((e: FailoverProgressEvent) => void) | undefined)
    return await replace(d, CloseCode.PROVIDER_FAILED, reason, emit)
  }

  const background = (what: string, p: Promise<unknown>): void => {
    const q = p.catch((err: unknown) => { if (!kit.stopping.aborted) logger.warn({ err: errorMessage(err) }, what) })
    running.add(q)
    void q.finally(() => running.delete(q))
  }

  /** one pass over the deployments that fail over: probes, and replaces what is lost or failed */
  async function check (): Promise<void> {
    const now = Date.now()
    await Promise.all(kit.all().map(async (d) => {
      if (d.failover == null || d.replacedBy != null || busy.has(d.order) || driving.has(d.order)) return
      // stopped half-way: carry on
      if (d.failingOver != null) { background('failover', replace(d, d.failingOver.code, d.failingOver.reason)); return }
      if (d.state === 'failed' && d.closeCode === CloseCode.PROVIDER_FAILED) { background('failover', failFrom(d)); return }
      if (d.state !== 'running') return
      const s = d.failover
      const answered = await kit.probe(d, AbortSignal.any([kit.stopping, AbortSignal.timeout(Math.max(1000, Math.min(s.probeMs, 5000)))])).catch(() => false)
      if (answered || kit.stopping.aborted) return
      // the node's own downtime is not the provider's silence: after a start, it gets two probes
      const since = Math.max(d.providerSeenAt ?? 0, d.startedAt ?? d.createdAt, startedAt - s.lostAfterMs + 2 * s.probeMs)
      const silent = now - since
      if (silent < s.lostAfterMs) return
      const reason = `provider ${d.provider ?? '?'} answered no status request and sent no usage statement for ${Math.round(silent / 1000)} s (tenant.failover.lostAfterMs ${s.lostAfterMs} ms)`
      logger.warn({ lease: d.order.slice(0, 12), provider: d.provider, silentMs: silent }, 'failover: provider lost')
      emitAll({ type: 'failover:provider-lost', detail: { order: d.order, provider: d.provider ?? '?', silentMs: silent } })
      background('failover', replace(d, CloseCode.PROVIDER_LOST, reason))
    }))
  }

  const schedule = (): void => {
    if (kit.stopping.aborted) return
    const probes = kit.all().filter((d) => d.failover != null).map((d) => d.failover!.probeMs)
    const every = Math.max(100, Math.min(kit.defaults.probeMs, ...probes))
    timer = setTimeout(() => { check().catch(() => {}).finally(schedule) }, every)
    timer.unref?.()
  }

  return {
    start () { startedAt = Date.now(); schedule() },
    async stop () {
      if (timer != null) clearTimeout(timer)
      await Promise.all([...running])
    },
    onFailover (fn) { listeners.add(fn); return () => { listeners.delete(fn) } },

    async deploy (sdl, opts = {}) {
      const on = opts.failover ?? kit.defaults.enabled
      if (on === false) return await kit.deploy(sdl, opts)
      const settings: FailoverSettings = { ...kit.defaults, ...(typeof on === 'object' ? on : {}) }
      let order: string | undefined
      const emit = (e: DeployProgressEvent | FailoverProgressEvent): void => {
        try {
          if (e.type.startsWith('failover:')) opts.onFailover?.(e as FailoverProgressEvent)
          else opts.onProgress?.(e as DeployProgressEvent)
        } catch {}
      }
      try {
        return await kit.deploy(sdl, {
          ...opts,
          failover: false,
          manifestTimeoutMs: settings.manifestTimeoutMs,
          onProgress: (e) => {
            if (e.type === 'deploy:order-published') {
              order = e.detail.order
              driving.add(order)
              const d = kit.get(order)
              // kept with the deployment from the start, so a failover (even after a restart) can order it again
              if (d != null) { d.failover = settings; d.source = sdl; kit.save(d) }
            }
            emit(e)
          }
        })
      } catch (err) {
        const d = order != null ? kit.get(order) : undefined
        if (d == null || d.state !== 'failed' || d.closeCode !== CloseCode.PROVIDER_FAILED || opts.signal?.aborted === true) throw err
        const next = await failFrom(d, emit)
        if (next == null) throw err
        return next
      } finally {
        if (order != null) driving.delete(order)
      }
    },

    async status (order, opts = {}) {
      const first = kit.find(order)
      const cur = latest(first)
      const chain = chainOf(first)
      const history = cur.history ?? []
      const r = await kit.status(cur.order, opts).catch((err: unknown) => {
        if (chain.length <= 1) throw err
        // the last lease's provider is unreachable too: the history still says what happened
        return { deployment: cur, error: { code: errorCode(err), message: errorMessage(err) } }
      }) as Record<string, unknown>
      return chain.length > 1 || history.length > 0 ? { ...r, asked: first.order, chain: chain.map((x) => ({ order: x.order, provider: x.provider, state: x.state, reason: x.reason })), history } : r
    },

    async * events (order, opts = {}) {
      const first = kit.find(order)
      const chain = chainOf(first)
      if (chain.length <= 1 && (first.history ?? []).length === 0) { yield * kit.events(order, opts); return }
      const cur = chain.at(-1)!
      for (const d of chain.slice(0, -1)) {
        if (d.startedAt != null) yield { type: 'tenant:manifest-sent', time: d.startedAt, message: `lease ${d.order.slice(0, 12)} on provider ${d.provider ?? '?'}` }
        for (const s of d.history ?? []) if (s.order === d.order) yield { type: `failover:${s.type}`, time: s.time, message: s.message.slice(0, 512) }
      }
      for (const s of cur.history ?? []) if (s.order === cur.order && s.type === 'ordered') yield { type: 'failover:ordered', time: s.time, message: s.message.slice(0, 512) }
      yield * kit.events(cur.order, opts)
    }
  }
}
