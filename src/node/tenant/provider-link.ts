// Talking to a deployment's provider on the lease stream: requests whose failure to reach it
// becomes an error naming the provider, and its status, read into what the tenant relies on.
import { unreachableHint } from '../../net/index.ts'
import type { LeaseRequest, LeaseResponse } from '../../net/index.ts'
import { errorMessage } from '../../util/index.ts'
import { DeployError, DeployErrorCode } from '../errors.ts'
import { DEFAULT_RUN_TIMEOUT_MS, STATUS_FALLBACK_MS, STATUS_MIN_GAP_MS } from './constants.ts'
import { providerOf } from './deployments.ts'
import type { TenantContext } from './context.ts'
import type { Deployment, ServiceView } from './index.ts'

/**
 * A provider's lease status, as far as the tenant acts on it. The status comes from another node
 * (decoded CBOR): every field is read with its type checked, and anything else is left out.
 */
export interface ProviderStatus {
  state?: string
  sequence?: number
  closeReason?: string
  error?: string
  lastUpdate?: { sequence: number, error?: string }
  services: ServiceView[]
}

const obj = (v: unknown): Record<string, unknown> | undefined => typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined
const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined
const num = (v: unknown): number | undefined => typeof v === 'number' ? v : undefined

function servicesOf (deployed: unknown): ServiceView[] {
  const services = obj(deployed)?.services
  if (!Array.isArray(services)) return []
  return services.map((x: unknown) => {
    const s = obj(x) ?? {}
    const urls = Array.isArray(s.urls) ? s.urls.map((u: unknown) => String(obj(u)?.url)) : []
    return { name: String(s.name), ready: Number(s.ready ?? 0), count: Number(s.count ?? 0), urls }
  })
}

export function readStatus (status: unknown): ProviderStatus | undefined {
  const s = obj(status)
  if (s == null) return undefined
  const lu = obj(s.lastUpdate)
  const luSeq = num(lu?.sequence)
  return {
    state: str(s.state),
    sequence: num(s.sequence),
    closeReason: str(s.closeReason),
    error: str(s.error),
    lastUpdate: luSeq != null ? { sequence: luSeq, error: str(lu?.error) } : undefined,
    services: servicesOf(s.deployed)
  }
}

const ago = (t: number): string => {
  const s = Math.max(0, Math.round((Date.now() - t) / 1000))
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`
}

/** why the provider may be impossible to dial, from the addresses it announced; '' when they give no reason */
export async function hintFor (ctx: TenantContext, d: Deployment): Promise<string> {
  let addrs: string[] = []
  try { addrs = (await ctx.net.libp2p.peerStore.get(providerOf(d))).addresses.map((a) => a.multiaddr.toString()) } catch {}
  const hint = unreachableHint(addrs)
  return hint != null ? ` (${hint})` : ''
}

/** a provider that cannot be reached, named, with when it last answered and what that means for the lease */
export async function unreachable (ctx: TenantContext, d: Deployment, err: unknown): Promise<DeployError> {
  const seen = d.providerSeenAt != null ? `last heard from ${new Date(d.providerSeenAt).toISOString().slice(0, 19)}Z (${ago(d.providerSeenAt)})` : 'never heard from since the lease'
  const running = d.state === 'running' || d.state === 'deploying' ? '; its containers may still be running, and the lease stays open until it is closed' : ''
  return new DeployError(DeployErrorCode.PROVIDER_UNREACHABLE, `provider ${d.provider ?? '?'} of lease ${d.order.slice(0, 12)} is unreachable: ${errorMessage(err)}${await hintFor(ctx, d)}; ${seen}${running}`)
}

/** a request on the lease stream; failing to reach the provider becomes an error that names it */
export async function * ask (ctx: TenantContext, d: Deployment, req: LeaseRequest, signal?: AbortSignal): AsyncGenerator<LeaseResponse> {
  const it = ctx.net.leaseRequest(providerOf(d), req, { signal })
  let first = true
  for (;;) {
    let r
    try {
      r = await it.next()
    } catch (err) {
      if (signal?.aborted === true) throw err
      throw first ? await unreachable(ctx, d, err) : err
    }
    if (r.done === true) return
    if (first) { first = false; ctx.deployments.heard(d) }
    yield r.value
  }
}

/** one status request; undefined when the provider did not answer with one */
export async function probeStatus (ctx: TenantContext, d: Deployment, signal?: AbortSignal): Promise<LeaseResponse | undefined> {
  const r = await ctx.net.leaseRequest(providerOf(d), { type: 'status', lease: Buffer.from(d.order, 'hex') }, { signal }).next().then((x) => x.value).catch(() => undefined)
  if (r != null) ctx.deployments.heard(d)
  return r ?? undefined
}

/**
 * Follows the provider's status until `decide` returns a value (or throws); undefined on timeout.
 * The status is asked once at the start and again on each event of the lease the provider streams
 * (`events` with follow on the lease protocol: replicas created and started, running, failed,
 * closed), instead of every few milliseconds; a burst of events costs one request.
 */
export async function watchStatus<T> (ctx: TenantContext, d: Deployment, opts: { signal?: AbortSignal, runTimeoutMs?: number }, decide: (status: ProviderStatus | undefined) => T | undefined): Promise<T | undefined> {
  const until = Date.now() + (opts.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS)
  const stop = new AbortController()
  const signal = opts.signal != null ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal
  let changed = false
  let wake: (() => void) | undefined
  const follow = (async () => {
    try {
      for await (const r of ctx.net.leaseRequest(providerOf(d), { type: 'events', lease: Buffer.from(d.order, 'hex'), follow: true }, { signal })) {
        if (r.kind !== 'event') break
        changed = true
        wake?.()
      }
    } catch {
      // the fallback period still asks
    }
  })()
  try {
    while (Date.now() < until) {
      opts.signal?.throwIfAborted()
      changed = false
      const r = await probeStatus(ctx, d, opts.signal)
      const out = decide(r?.kind === 'status' ? readStatus(r.status) : undefined)
      if (out !== undefined) return out
      // a provider streaming events without pause gets one request per gap, not one per event
      await new Promise((resolve) => setTimeout(resolve, STATUS_MIN_GAP_MS))
      if (changed) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(STATUS_FALLBACK_MS, Math.max(0, until - Date.now())))
        function done (): void { clearTimeout(timer); wake = undefined; opts.signal?.removeEventListener('abort', done); resolve() }
        wake = done
        opts.signal?.addEventListener('abort', done, { once: true })
      })
    }
    return undefined
  } finally {
    // the stream ends with the abort; nothing waits for it
    stop.abort()
    void follow
  }
}
