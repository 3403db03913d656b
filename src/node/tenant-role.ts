// A tenant inside a node: one call from a deployment file to running services. Publishes the
// order, follows bids, waits for the committee's certified lease (or its expiry), hands the
// manifest to the winning provider over a direct stream, and watches the services come up.
import { peerIdFromString } from '@libp2p/peer-id'
import { signMessage, openMessage, MessageTag, toHex, sha256, MAX_MESSAGE_AGE_MS, CloseCode, DEFAULT_ACCEPT } from '../wire/index.ts'
import type { SignedMessage, OrderBody, BidBody, CloseBody, Price, ManifestUpdateBody, WireAccept } from '../wire/index.ts'
import { Topic, unreachableHint } from '../net/index.ts'
import type { SoukNode, LeaseLogLine, LeaseEvent } from '../net/index.ts'
import { buildOrder, usageAuditor, addAmounts } from '../market/index.ts'
import { handleUsage } from './usage-protocol.ts'
import { NodeError, NodeErrorCode } from './errors.ts'
import { loadSdl, canonicalManifestBytes, formatTotals } from '../sdl/index.ts'
import { akashAuditorMap } from '../config/tenant.ts'
import type { LoadedSdl } from '../sdl/index.ts'
import { peerIdOfPublicKey, publicKeyOfPeerId } from '../identity/index.ts'
import type { Identity } from '../identity/index.ts'
import type { SoukConfig } from '../config/index.ts'
import type { Store } from '../store/index.ts'
import type { LeaseBook, LeaseRecord } from './lease-book.ts'
import { askExplain } from './explain-protocol.ts'
import { openExec } from './exec-protocol.ts'
import type { ExecHandle } from '../runtime/index.ts'
import type { ExplainAnswer } from './explain-protocol.ts'
import { records } from './records.ts'
import { waitReady } from './readiness.ts'
import { DeployError, DeployErrorCode } from './errors.ts'
import type { Logger } from './logger.ts'
import { failover, isTenantFault } from './failover.ts'
import type { FailoverSettings, FailoverStep, FailoverProgressEvent } from './failover.ts'

const STATUS_POLL_MS = 100
const AKASH_ADDRESS = /^akash1[02-9ac-hj-np-z]{38,58}$/

/**
 * Akash files name auditors by account address; a souk auditor is a key. The tenant's map
 * (tenant.akashAuditors) puts the souk key in the order instead; the notices say which addresses
 * were mapped and which are left, with the line to add to souk.yaml.
 */
export function mapAkashAuditors (loaded: LoadedSdl, map: Map<string, string>): LoadedSdl {
  let changed = false
  const notices = loaded.notices.filter((n) => {
    const a = /^(akash1[0-9a-z]+) is an Akash account address/.exec(n.message)?.[1]
    return a == null || !map.has(a)
  })
  const groups = loaded.groups.map((g) => {
    const swap = (xs: string[]): string[] => xs.map((a) => { const k = AKASH_ADDRESS.test(a) ? map.get(a) : undefined; if (k != null) changed = true; return k ?? a })
    return { ...g, signedBy: { allOf: swap(g.signedBy.allOf), anyOf: swap(g.signedBy.anyOf) } }
  })
  if (!changed) return loaded
  for (const g of loaded.groups) {
    for (const a of [...g.signedBy.allOf, ...g.signedBy.anyOf]) {
      const k = map.get(a)
      if (k != null) notices.push({ path: `profiles.placement.${g.name}.signedBy`, message: `auditor ${a} is ordered as souk auditor ${k} (tenant.akashAuditors)` })
    }
  }
  return { ...loaded, groups, notices }
}

/**
 * ordering → leased → deploying → running → closing → closed; `failed` and `expired` end a
 * deployment that never ran. Every state but the last three is picked up again when the node
 * starts (see resume in tenantRole), so a restart never leaves a deployment half-way.
 */
export type DeploymentState = 'ordering' | 'leased' | 'deploying' | 'running' | 'failed' | 'expired' | 'closing' | 'closed'

export interface ServiceView { name: string, ready: number, count: number, urls: string[] }

export interface Deployment {
  order: string
  state: DeploymentState
  createdAt: number
  bidDeadline: number
  totals: string
  /** winning provider peer ID */
  provider?: string
  prices?: Price[]
  bids?: number
  services?: ServiceView[]
  reason?: string
  /** sequence of the manifest running (0 first, then each update) */
  sequence?: number
  /** countersigned usage statements */
  usage?: UsageLine[]
  /** when this node sent the lease's first manifest: billing cannot start before (give or take clock skew) */
  startedAt?: number
  /** when the lease closed, as this node learned it: billing cannot go past it */
  closedAt?: number
  /** when the provider last answered this node about the lease (status, logs, events, usage), ms */
  providerSeenAt?: number
  /**
   * a Close this node signed and has not finished sending (gossip and the direct request): saved
   * before it is sent, so a node killed in between sends it again when it starts
   */
  close?: Uint8Array
  /** the signed order envelope and the canonical manifest, for resends and updates */
  orderBytes: Uint8Array
  manifest: Uint8Array
  /** the code of the Close this node sent for a lease that failed (`provider-failed`) */
  closeCode?: CloseCode
  /** failover settings, when this deployment fails over (failover.ts) */
  failover?: FailoverSettings
  /** the deployment file, kept so a failover can order it again */
  source?: string | LoadedSdl
  /** the first order of a chain of failovers, the one this replaced, the one that replaced it */
  origin?: string
  replaces?: string
  replacedBy?: string
  /** failovers along the chain up to this lease, and the providers it left (peer IDs) */
  failovers?: number
  excluded?: string[]
  /** what happened across providers (failovers), oldest first */
  history?: FailoverStep[]
  /** a failover begun and not finished (saved first, so a restart finishes it) */
  failingOver?: { code: CloseCode, reason: string, at: number }
}

export type DeployProgressEvent =
  | { type: 'deploy:validated', detail: { totals: string, groups: number, notices: number, noticeList: Array<{ path: string, message: string }> } }
  | { type: 'deploy:order-published', detail: { order: string, bidDeadline: number } }
  | { type: 'deploy:bid', detail: { bids: number, provider: string, prices: Price[] } }
  | { type: 'deploy:lease-final', detail: { provider: string, prices: Price[], height: number, bids: number } }
  | { type: 'deploy:manifest-accepted', detail: { provider: string } }
  | { type: 'deploy:services-running', detail: { services: ServiceView[] } }
  | { type: 'deploy:kept', detail: { order: string, provider: string, state: DeploymentState } }
  | { type: 'deploy:closing', detail: { order: string, provider: string, reason: string } }

export interface DeployOptions {
  signal?: AbortSignal
  onProgress?: (evt: DeployProgressEvent) => void
  bidWindowMs?: number
  /** after the manifest is accepted, how long to wait for every service to run */
  runTimeoutMs?: number
  /**
   * What an abort does once the lease is final: `close` (the default) closes the lease, so nothing
   * is left running or billed; `keep` lets the deployment go on without the caller (souk lease list
   * follows it) and says so with a `deploy:kept` event. Before the lease is final, an abort always
   * leaves nothing behind: no order is published, or a lease that still comes is closed.
   */
  onAbort?: 'close' | 'keep'
  /** which providers the order accepts (default: tenant.accept in souk.yaml) */
  accept?: WireAccept
  /** fail over when the provider is lost or fails (default: tenant.failover.enabled); persistent data does not move */
  failover?: boolean | Partial<FailoverSettings>
  /** the failover's steps during this deploy (the new order's own steps come through onProgress) */
  onFailover?: (evt: FailoverProgressEvent) => void
  /** the provider must take the manifest within this long, or the lease failed (`provider-failed`) */
  manifestTimeoutMs?: number
}

export type UpdateProgressEvent =
  | { type: 'update:validated', detail: { order: string, sequence: number, totals: string } }
  | { type: 'update:manifest-accepted', detail: { order: string, sequence: number, provider: string } }
  | { type: 'update:rolled-out', detail: { order: string, sequence: number, services: ServiceView[] } }

export interface UpdateOptions {
  signal?: AbortSignal
  onProgress?: (evt: UpdateProgressEvent) => void
  /** after the provider accepts the manifest, how long to wait for the rollout */
  runTimeoutMs?: number
}

export type CloseProgressEvent =
  | { type: 'close:signed', detail: { order: string, closedAt: number } }
  | { type: 'close:sent', detail: { order: string, provider?: string } }

export interface CloseOptions {
  onProgress?: (evt: CloseProgressEvent) => void
}

/** one provider's answer to a dry run: what it would bid, every reason it would not, or why it could not be asked */
export interface DryRunAnswer {
  provider: string
  outcome: 'bid' | 'declined' | 'no-answer'
  prices?: Price[]
  reasons: Array<{ code: string, message: string }>
}

export interface DryRunResult {
  totals: string
  notices: Array<{ path: string, message: string }>
  /** every provider this node found, bidders first */
  answers: DryRunAnswer[]
}

export interface TenantRole {
  deploy: (sdl: string | LoadedSdl, opts?: DeployOptions) => Promise<Deployment>
  /** asks every provider it can find what it would bid on this file, or why not; publishes no order */
  dryRun: (sdl: string | LoadedSdl, opts?: { signal?: AbortSignal, bidWindowMs?: number }) => Promise<DryRunResult>
  list: () => Deployment[]
  get: (order: string) => Deployment | undefined
  status: (order: string, opts?: { signal?: AbortSignal }) => Promise<unknown>
  logs: (order: string, opts?: { follow?: boolean, tail?: number, service?: string, signal?: AbortSignal }) => AsyncGenerator<LeaseLogLine>
  events: (order: string, opts?: { follow?: boolean, signal?: AbortSignal }) => AsyncGenerator<LeaseEvent>
  /** ends the lease: a signed Close, saved before it is sent (gossiped and sent to the provider) */
  close: (order: string, reason?: string, opts?: CloseOptions) => Promise<Deployment>
  /** rolls out a new manifest (same resources or fewer) on the running lease; a failed rollout keeps the old one */
  update: (order: string, sdl: string | LoadedSdl, opts?: UpdateOptions) => Promise<Deployment>
  /** a command in one of the lease's containers (an interactive shell with tty) */
  exec: (order: string, opts: { service?: string, command: string[], tty?: boolean, signal?: AbortSignal }) => Promise<ExecHandle>
  /** usage statements the provider sent and this node countersigned */
  usage: (order: string) => UsageLine[]
  /** failovers as they happen, in the background as well as during deploy() */
  onFailover: (fn: (e: FailoverProgressEvent) => void) => () => void
  start: () => Promise<void>
  stop: () => Promise<void>
}

export interface UsageLine { sequence: number, periodStart: number, periodEnd: number, amount: Price, total: Price, statement: string, ack: string }

function view (status: any): ServiceView[] {
  const services = status?.deployed?.services
  if (!Array.isArray(services)) return []
  return services.map((s: any) => ({ name: String(s.name), ready: Number(s.ready ?? 0), count: Number(s.count ?? 0), urls: Array.isArray(s.urls) ? s.urls.map((u: any) => String(u.url)) : [] }))
}

export function tenantRole (config: SoukConfig, components: { identity: Identity, net: SoukNode, book: LeaseBook, store: Store, logger: Logger }): TenantRole {
  const { identity, net, book, logger } = components
  const saved = records<Deployment>(components.store, 'tenant-deployment')
  const live = new Map<string, Deployment>(saved.list().map((d) => [d.order, d]))
  const save = (d: Deployment): void => { live.set(d.order, d); saved.put(d.order, d) }

  /** a closed lease serves nothing: its services are listed without the URLs they had */
  const closedServices = (services: ServiceView[] | undefined): ServiceView[] | undefined => services?.map((x) => ({ ...x, ready: 0, urls: [] }))
  const markClosed = (d: Deployment, reason: string | undefined): void => {
    d.state = 'closed'
    delete d.close
    if (reason != null) d.reason = reason
    d.services = closedServices(d.services)
    save(d)
  }
  const deploymentOf = (d: Deployment): Omit<Deployment, 'orderBytes' | 'manifest' | 'close' | 'source'> => {
    const { orderBytes: _o, manifest: _m, close: _c, source: _s, ...rest } = d
    return rest
  }

  const providerOf = (d: Deployment): ReturnType<typeof peerIdFromString> => {
    if (d.provider == null) throw new DeployError(DeployErrorCode.NO_LEASE, `deployment ${d.order.slice(0, 12)} has no lease (${d.state})`)
    return peerIdFromString(d.provider)
  }
  const find = (order: string): Deployment => {
    const id = order.toLowerCase()
    const exact = live.get(id)
    if (exact != null) return exact
    const matches = id === '' ? [] : [...live.values()].filter((x) => x.order.startsWith(id))
    if (matches.length > 1) throw new DeployError('ERR_AMBIGUOUS_ID', `${matches.length} leases begin with ${order}; give more digits (${matches.map((m) => m.order.slice(0, 16)).join(', ')})`)
    if (matches.length === 0) throw new DeployError(DeployErrorCode.UNKNOWN_DEPLOYMENT, `no deployment ${order} on this node`)
    return matches[0]
  }

  /** the provider answered: remember when, for the error that names it if it stops answering */
  const heard = (d: Deployment): void => {
    const now = Date.now()
    const before = d.providerSeenAt
    d.providerSeenAt = now
    if (before == null || now - before > 5_000) save(d)
  }
  const ago = (t: number): string => {
    const s = Math.max(0, Math.round((Date.now() - t) / 1000))
    return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`
  }
  /** a provider that cannot be reached, named, with when it last answered and what that means for the lease */
  const unreachable = async (d: Deployment, err: any): Promise<DeployError> => {
    const seen = d.providerSeenAt != null ? `last heard from ${new Date(d.providerSeenAt).toISOString().slice(0, 19)}Z (${ago(d.providerSeenAt)})` : 'never heard from since the lease'
    const running = d.state === 'running' || d.state === 'deploying' ? '; its containers may still be running, and the lease stays open until it is closed' : ''
    return new DeployError(DeployErrorCode.PROVIDER_UNREACHABLE, `provider ${d.provider ?? '?'} of lease ${d.order.slice(0, 12)} is unreachable: ${String(err?.message ?? err)}${await hintFor(d)}; ${seen}${running}`)
  }
  /** a request on the lease stream; failing to reach the provider becomes an error that names it */
  async function * ask (d: Deployment, req: Parameters<SoukNode['leaseRequest']>[1], signal?: AbortSignal): AsyncGenerator<Awaited<ReturnType<ReturnType<SoukNode['leaseRequest']>['next']>>['value'] & {}> {
    const it = net.leaseRequest(providerOf(d), req, { signal })
    let first = true
    for (;;) {
      let r
      try {
        r = await it.next()
      } catch (err: any) {
        if (signal?.aborted === true) throw err
        throw first ? await unreachable(d, err) : err
      }
      if (r.done === true) return
      if (first) { first = false; heard(d) }
      yield r.value
    }
  }

  /** why the provider may be impossible to dial, from the addresses it announced; '' when they give no reason */
  const hintFor = async (d: Deployment): Promise<string> => {
    let addrs: string[] = []
    try { addrs = (await net.libp2p.peerStore.get(providerOf(d))).addresses.map((a) => a.multiaddr.toString()) } catch {}
    const hint = unreachableHint(addrs)
    return hint != null ? ` (${hint})` : ''
  }

  /**
   * Polls the provider's status until `decide` returns a value (or throws); undefined on timeout.
   * A status request is one small frame each way on an open connection, so polling is cheap.
   */
  async function watchStatus<T> (d: Deployment, opts: { signal?: AbortSignal, runTimeoutMs?: number }, decide: (status: any) => T | undefined): Promise<T | undefined> {
    const until = Date.now() + (opts.runTimeoutMs ?? 120_000)
    const lease = Buffer.from(d.order, 'hex')
    while (Date.now() < until) {
      opts.signal?.throwIfAborted()
      const r = await net.leaseRequest(providerOf(d), { type: 'status', lease }, { signal: opts.signal }).next().then((x) => x.value).catch(() => undefined)
      if (r != null) heard(d)
      const out = decide(r?.kind === 'status' ? r.status : undefined)
      if (out !== undefined) return out
      await new Promise((resolve) => setTimeout(resolve, STATUS_POLL_MS))
    }
    return undefined
  }

  /** the peers this node is connected to, and the providers the DHT names */
  async function providerCandidates (): Promise<Set<string>> {
    const peers = new Set<string>()
    for (const p of net.libp2p.getPeers()) peers.add(p.toString())
    try {
      for (const r of await net.findRole('provider', { signal: AbortSignal.timeout(3_000), limit: 20 })) peers.add(r.id.toString())
    } catch {}
    return peers
  }

  async function explainDeclines (orderId: Uint8Array, signal?: AbortSignal): Promise<ExplainAnswer[]> {
    const peers = await providerCandidates()
    const answers = await Promise.all([...peers].map(async (p) => await askExplain(net, peerIdFromString(p), orderId, signal).catch(() => null)))
    return answers.filter((a): a is ExplainAnswer => a?.decision != null)
  }

  /** tenant.accept from souk.yaml, on the order only when it is not the default (older nodes refuse the field) */
  const configAccept = (): WireAccept | undefined => {
    const a = config.tenant.accept
    if (a.maxFailurePermille === DEFAULT_ACCEPT.maxFailurePermille && a.minServed === DEFAULT_ACCEPT.minServed && a.allow.length === 0 && a.deny.length === 0) return undefined
    const key = (p: string): Uint8Array => /^[0-9a-f]{64}$/i.test(p) ? new Uint8Array(Buffer.from(p, 'hex')) : publicKeyOfPeerId(p)!
    return { maxFailurePermille: a.maxFailurePermille, minServed: a.minServed, allow: a.allow.map(key), deny: a.deny.map(key) }
  }
  const auditor = usageAuditor({ signer: identity })
  const auditorMap = akashAuditorMap(config.tenant)
  let stopUsage: (() => Promise<void>) | undefined
  let stopClosed: (() => void) | undefined
  let stopLate: (() => void) | undefined
  /** ends the work resumed at start when the node stops */
  const stopping = new AbortController()
  const resuming = new Set<Promise<void>>()
  const background = (what: string, d: Deployment, p: Promise<unknown>): void => {
    const q = p.then(() => {}, (err: any) => {
      if (stopping.signal.aborted) return
      logger.warn({ lease: d.order.slice(0, 12), state: d.state, err: String(err?.message ?? err) }, what)
    })
    resuming.add(q)
    void q.finally(() => resuming.delete(q))
  }
  const seconds = (ms: number): string => ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`

  /**
   * Waits for the order's lease or its expiry, until the decision is overdue (bidWindow +
   * decisionTimeoutMs). An expiry, or silence, is recorded on the deployment and thrown.
   */
  async function awaitLease (d: Deployment, signal?: AbortSignal): Promise<LeaseRecord> {
    // the committee decides soon after the deadline; silence means no validator is reachable
    // or they are overloaded, and the user should hear that rather than wait forever
    const waitMs = Math.max(0, d.bidDeadline - Date.now()) + config.tenant.decisionTimeoutMs
    const timeout = AbortSignal.timeout(waitMs)
    let outcome
    try {
      outcome = await book.outcome(d.order, { signal: signal != null ? AbortSignal.any([signal, timeout]) : timeout })
    } catch (err) {
      if (signal?.aborted === true && !stopping.signal.aborted) {
        // the user's deploy was cancelled: nobody wants the lease now (one that comes is closed, closeLate)
        d.state = 'expired'
        d.reason = 'the deploy was cancelled before the committee decided on the order'
        save(d)
      }
      if (signal?.aborted === true || !timeout.aborted) throw err
      d.state = 'expired'
      d.reason = `the committee did not decide on the order within ${seconds(config.tenant.decisionTimeoutMs)} of its bid deadline`
      save(d)
      throw new DeployError(DeployErrorCode.TIMEOUT, `no lease: ${d.reason}; no validator may be reachable (souk node status shows the peers), or they are overloaded (souk committee status on a validator)`)
    }
    if (outcome.kind === 'expired') {
      d.state = 'expired'
      const declines = await explainDeclines(Buffer.from(d.order, 'hex'), signal)
      const why = declines.flatMap((a) => (a.decision?.reasons ?? []).map((r) => `${a.provider.slice(-8)}: ${r.message}`))
      d.reason = `${outcome.expiry.reason}${why.length > 0 ? `; providers said: ${why.join('; ')}` : ''}`
      save(d)
      throw new DeployError(DeployErrorCode.NO_LEASE, `no lease: ${d.reason}`, { declines })
    }
    return outcome.lease
  }

  /** the committee's lease, as this deployment's */
  const takeLease = (d: Deployment, lease: LeaseRecord): void => {
    d.provider = peerIdOfPublicKey(Buffer.from(lease.provider, 'hex'))
    d.prices = book.bid(lease.bidId)?.body.prices ?? d.prices
    d.state = 'leased'
    save(d)
  }

  /**
   * A lease that will not run: recorded as failed with the reason, and closed at its provider and
   * the committee so that nobody is billed for it. The Close is saved with the state, so a node
   * killed before sending it sends it when it starts.
   */
  const fail = (d: Deployment, reason: string, code?: CloseCode): void => {
    d.state = 'failed'
    d.reason = reason
    if (d.provider != null && d.close == null) {
      if (code != null) d.closeCode = code
      const close = signMessage<CloseBody>(identity, MessageTag.CLOSE, { lease: Buffer.from(d.order, 'hex'), reason: `the tenant gave up on the deployment: ${reason}`.slice(0, 400), ...(code != null ? { code } : {}) })
      d.close = close.bytes
      d.closedAt ??= close.createdAt
    }
    save(d)
    if (d.close != null) background('close of a failed deployment', d, sendClose(d))
  }

  /** signs the Close and records the intent (`closing`) before anything is sent: a node killed while the Close is on its way sends it when it starts */
  const startClose = (d: Deployment, reason: string): void => {
    if (d.close == null) {
      const close = signMessage<CloseBody>(identity, MessageTag.CLOSE, { lease: Buffer.from(d.order, 'hex'), reason })
      // from now on the provider may bill only up to this moment (give or take clock skew)
      d.closedAt ??= close.createdAt
      d.close = close.bytes
    }
    d.state = 'closing'
    d.reason = openMessage<CloseBody>(d.close, { expect: MessageTag.CLOSE }).body.reason
    save(d)
  }

  /**
   * Sends the saved Close on gossip and straight to the provider, then forgets it. Sending it
   * twice does no harm: the committee and the provider take the first and ignore the rest.
   */
  async function sendClose (d: Deployment, signal: AbortSignal = stopping.signal): Promise<void> {
    if (d.close == null) return
    let close = openMessage<CloseBody>(d.close, { expect: MessageTag.CLOSE })
    // gossip refuses messages older than MAX_MESSAGE_AGE_MS: one saved long ago is signed again
    // (the billing end, closedAt, stays when it was first made)
    if (close.createdAt < Date.now() - MAX_MESSAGE_AGE_MS / 2) {
      close = signMessage<CloseBody>(identity, MessageTag.CLOSE, close.body)
      d.close = close.bytes
      save(d)
    }
    book.record(close)
    await net.gossip.publish(Topic.LEASES, close).catch(() => {})
    if (d.provider != null) {
      try {
        for await (const r of net.leaseRequest(providerOf(d), { type: 'close', lease: close.body.lease, close: close.bytes }, { signal })) {
          if (r.kind === 'error') throw new DeployError(r.code, r.reason)
        }
      } catch (err: any) {
        if (stopping.signal.aborted) throw err
        // the gossiped Close still reaches the provider; say so rather than fail
        logger.warn({ err: String(err?.message ?? err) }, 'direct close failed; the provider will see the gossiped close')
      }
    }
    // the reason saved with `closing` (the user's, or why a late lease was closed), else the Close's
    if (d.state === 'closing') markClosed(d, d.reason ?? close.body.reason)
    else { delete d.close; save(d) }
  }

  /** leased → the manifest to the provider → deploying → running (or failed, and closed) */
  async function deliver (d: Deployment, opts: DeployOptions, emit: (e: DeployProgressEvent) => void): Promise<Deployment> {
    let result
    // the provider starts billing once it has the manifest, not before this
    d.startedAt = Date.now()
    save(d)
    // a provider that never takes the manifest failed the lease (provider-failed, failover.ts)
    const deadline = (opts.manifestTimeoutMs ?? d.failover?.manifestTimeoutMs) != null ? AbortSignal.timeout((opts.manifestTimeoutMs ?? d.failover?.manifestTimeoutMs)!) : undefined
    try {
      result = await net.sendManifest(providerOf(d), { lease: Buffer.from(d.order, 'hex'), manifest: d.manifest, sequence: 0 }, { signal: opts.signal != null && deadline != null ? AbortSignal.any([opts.signal, deadline]) : opts.signal ?? deadline })
    } catch (err: any) {
      if (opts.signal?.aborted === true) throw err
      fail(d, `provider ${d.provider ?? '?'} ${deadline?.aborted === true ? 'did not take the manifest in time' : 'unreachable'}: ${String(err?.message ?? err)}${await hintFor(d)}`, CloseCode.PROVIDER_FAILED)
      throw new DeployError(DeployErrorCode.PROVIDER_UNREACHABLE, d.reason!)
    }
    if (!result.ok) {
      fail(d, `provider refused the manifest: ${result.reason} (${result.code})`, isTenantFault(result.code) ? undefined : CloseCode.PROVIDER_FAILED)
      throw new DeployError(DeployErrorCode.MANIFEST_REFUSED, d.reason!)
    }
    d.state = 'deploying'
    save(d)
    emit({ type: 'deploy:manifest-accepted', detail: { provider: d.provider! } })
    return await awaitRunning(d, opts, emit)
  }

  /** deploying → running, once every service runs (or failed, and closed) */
  async function awaitRunning (d: Deployment, opts: DeployOptions, emit: (e: DeployProgressEvent) => void): Promise<Deployment> {
    const done = await watchStatus(d, opts, (st) => {
      if (st?.state === 'closed' || st?.error != null) {
        fail(d, st.error ?? st.closeReason ?? 'the provider closed the lease')
        throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `deployment failed at the provider: ${d.reason!}`)
      }
      const services = view(st)
      return st?.state === 'running' && services.length > 0 && services.every((x) => x.ready >= x.count) ? services : undefined
    })
    if (done != null) {
      d.state = 'running'
      d.services = done
      save(d)
      emit({ type: 'deploy:services-running', detail: { services: done } })
      return d
    }
    opts.signal?.throwIfAborted()
    fail(d, 'services did not start in time')
    throw new DeployError(DeployErrorCode.TIMEOUT, `services did not come up within ${Math.round((opts.runTimeoutMs ?? 120_000) / 1000)} s`)
  }

  /**
   * A lease certified after this node gave up on its order (its decision timeout ran out: the CLI
   * already said "no lease"). Nobody waits for it any more: it is closed at once, with a reason
   * that says so, so that its provider frees it and no one pays for it.
   */
  function closeLate (d: Deployment, lease: LeaseRecord): void {
    d.provider = peerIdOfPublicKey(Buffer.from(lease.provider, 'hex'))
    d.prices = book.bid(lease.bidId)?.body.prices ?? d.prices
    const reason = 'the lease was certified after the tenant had given up waiting for it'
    const close = signMessage<CloseBody>(identity, MessageTag.CLOSE, { lease: Buffer.from(d.order, 'hex'), reason })
    d.close = close.bytes
    d.closedAt ??= close.createdAt
    d.reason = `${reason} (${d.reason ?? 'expired'}); closed at once so that nobody pays for it`
    d.state = 'closing'
    save(d)
    background('close of a late lease', d, sendClose(d))
  }

  /**
   * Leases and expiries decided while this node was away, from a few peers (the leases topic of
   * /souk/sync/1.0.0). They enter the lease book as if gossiped, checked the same way, and reach
   * the deployments waiting for them through its events.
   */
  async function catchUp (): Promise<void> {
    const peers = net.libp2p.getPeers().slice(0, 3)
    await Promise.all(peers.map(async (p) => {
      try {
        const r = await net.syncOrders(p, { topic: Topic.LEASES, signal: stopping.signal })
        logger.debug({ peer: p.toString(), ...r }, 'outcomes synced')
      } catch (err: any) {
        logger.debug({ peer: p.toString(), err: String(err?.message ?? err) }, 'outcome sync failed')
      }
    }))
  }

  /** picks up a deployment a stop or a crash cut, from the state it was saved in */
  async function resume (d: Deployment): Promise<void> {
    const signal = stopping.signal
    const opts: DeployOptions = { signal }
    const quiet = (): void => {}
    if (d.close != null) { await sendClose(d, signal); return }
    if (d.state === 'ordering') {
      const known = book.lease(d.order) ?? book.expiry(d.order)
      // killed before the order went out, or before enough peers had it: sent again while bids
      // can still come (a peer that has it already drops the copy)
      if (known == null && d.bidDeadline > Date.now()) {
        const order = openMessage<OrderBody>(d.orderBytes, { expect: MessageTag.ORDER })
        book.record(order)
        await net.gossip.publish(Topic.ORDERS, order).catch(() => {})
      }
      takeLease(d, await awaitLease(d, signal))
      logger.info({ lease: d.order.slice(0, 12), provider: d.provider }, 'lease final for an order placed before the restart; sending its manifest')
    }
    if (d.state === 'leased') { await deliver(d, opts, quiet); return }
    if (d.state === 'deploying') await awaitRunning(d, opts, quiet)
  }

  const role: TenantRole = {
    onFailover: (fn) => fo.onFailover(fn),
    async start () {
      // a close this node did not send (the provider's, or one sent from another node with this key);
      // one of its own still being sent finishes on its own
      stopClosed = book.on('closed', (rec: { orderId: string, closeReason?: string, closedBy?: string, closedAt?: number }) => {
        const d = live.get(rec.orderId)
        if (d == null || d.state === 'closed' || d.close != null) return
        d.closedAt ??= rec.closedAt ?? Date.now()
        markClosed(d, `closed by the ${rec.closedBy ?? 'provider'}${rec.closeReason != null && rec.closeReason !== '' ? `: ${rec.closeReason}` : ''}`)
      })
      stopUsage = await handleUsage(net, (from, s) => {
        const d = live.get(toHex(s.body.lease))
        if (d == null || d.provider == null || d.prices == null) throw new NodeError('ERR_UNKNOWN_LEASE', 'no lease of this tenant with that ID')
        if (from.toString() !== d.provider) throw new NodeError('ERR_NOT_LEASE_PROVIDER', 'only the lease\'s provider sends its usage')
        heard(d)
        // the provider's key as the lease certificate names it (d.provider was taken from it), never
        // the statement's own signer: a statement signed by anyone else is not the provider's bill
        const rec = book.lease(d.order)
        const providerKey = rec != null ? rec.certificate.provider : publicKeyOfPeerId(d.provider)
        if (providerKey == null) throw new NodeError('ERR_UNKNOWN_LEASE', 'the lease\'s provider key is unknown')
        // a close this node did not make (the provider's, gossiped) counts from when it was seen
        if (d.closedAt == null && rec?.state === 'closed' && rec.closedAt != null) { d.closedAt = rec.closedAt; save(d) }
        const rate = { denom: d.prices[0].denom, amount: addAmounts(...d.prices.map((p) => p.amount)) }
        const lastLine = (d.usage ?? []).at(-1)
        const last = lastLine != null ? { sequence: lastLine.sequence, periodEnd: lastLine.periodEnd, total: lastLine.total } : undefined
        const ack = auditor.handleStatement({ leaseId: s.body.lease, provider: providerKey, rate, startedAt: d.startedAt ?? d.createdAt, closedAt: d.closedAt, last }, s)
        const line: UsageLine = { sequence: s.body.sequence, periodStart: s.body.periodStart, periodEnd: s.body.periodEnd, amount: s.body.amount, total: s.body.total, statement: s.idHex, ack: ack.idHex }
        d.usage = [...(d.usage ?? []).filter((u) => u.sequence !== line.sequence), line]
        save(d)
        return ack
      })
      stopLate = book.on('lease', (rec: LeaseRecord) => {
        const d = live.get(rec.orderId)
        if (d?.state === 'expired') closeLate(d, rec)
      })
      // deployments a stop or a crash cut: each goes on from where it was saved, in the background
      // (the node serves meanwhile); the network first, or there is nobody to tell
      const unfinished = [...live.values()].filter((d) => d.close != null || d.state === 'ordering' || d.state === 'leased' || d.state === 'deploying')
      // an order given up on shortly before the stop may have got its lease meanwhile (closeLate)
      const lately = [...live.values()].some((d) => d.state === 'expired' && d.createdAt > Date.now() - MAX_MESSAGE_AGE_MS)
      if (unfinished.length > 0 || lately) {
        const ready = waitReady({ roles: ['tenant'], peerId: net.peerId.toString(), gossip: net.gossip }, { signal: stopping.signal, timeoutMs: config.tenant.decisionTimeoutMs }).catch(() => {})
        // what the committee decided while this node was away was gossiped to nobody here: asked of peers
        void ready.then(async () => { await catchUp() })
        for (const d of unfinished) {
          logger.info({ lease: d.order.slice(0, 12), state: d.state }, 'resuming a deployment cut by a restart')
          background('resumed deployment', d, ready.then(async () => { stopping.signal.throwIfAborted(); await resume(d) }))
        }
      }
      fo.start()
    },
    async stop () {
      await fo.stop()
      stopClosed?.()
      stopLate?.()
      stopping.abort(new NodeError(NodeErrorCode.STOPPED, 'the node is stopping'))
      await Promise.all([...resuming])
      await stopUsage?.()
    },
    usage: (order) => find(order).usage ?? [],

    async deploy (sdl, opts = {}) {
      const emit = (e: DeployProgressEvent): void => { try { opts.onProgress?.(e) } catch {} }
      const loaded = mapAkashAuditors(typeof sdl === 'string' ? loadSdl(sdl) : sdl, auditorMap)
      emit({ type: 'deploy:validated', detail: { totals: formatTotals(loaded.totals), groups: loaded.groups.length, notices: loaded.notices.length, noticeList: loaded.notices.map((n) => ({ path: n.path, message: n.message })) } })
      // an order published before any peer listens is lost: wait (bounded) for a subscriber, and publish nothing once aborted
      opts.signal?.throwIfAborted()
      try {
        await waitReady({ roles: ['tenant'], peerId: net.peerId.toString(), gossip: net.gossip }, { signal: opts.signal, timeoutMs: config.tenant.decisionTimeoutMs })
      } catch (err: any) {
        if (err?.code !== 'ERR_NOT_READY') throw err
        throw new DeployError(DeployErrorCode.NO_PEERS, `no peer listened for orders within ${config.tenant.decisionTimeoutMs} ms, so nothing was published; check network.bootstrap and run souk node status`)
      }
      const body = buildOrder(loaded, { bidWindowMs: opts.bidWindowMs ?? config.tenant.bidWindowMs, now: Date.now(), accept: opts.accept ?? configAccept() })
      const order = signMessage<OrderBody>(identity, MessageTag.ORDER, body)
      const d: Deployment = {
        order: order.idHex, state: 'ordering', createdAt: Date.now(), bidDeadline: body.bidDeadline,
        totals: formatTotals(loaded.totals), orderBytes: order.bytes, manifest: canonicalManifestBytes(loaded.manifest), bids: 0
      }
      save(d)
      const stopBids = book.on('bid', (b: SignedMessage<BidBody>) => {
        if (toHex(b.body.order) !== d.order) return
        d.bids = (d.bids ?? 0) + 1
        emit({ type: 'deploy:bid', detail: { bids: d.bids, provider: peerIdOfPublicKey(b.signer), prices: b.body.prices } })
      })
      try {
        book.record(order)
        const { recipients } = await net.gossip.publish(Topic.ORDERS, order)
        if (recipients === 0) logger.warn('order published, but no peer is subscribed yet')
        emit({ type: 'deploy:order-published', detail: { order: d.order, bidDeadline: d.bidDeadline } })

        const lease = await awaitLease(d, opts.signal)
        takeLease(d, lease)
        emit({ type: 'deploy:lease-final', detail: { provider: d.provider!, prices: d.prices ?? [], height: lease.certificate.height, bids: d.bids ?? 0 } })
        try {
          return await deliver(d, opts, emit)
        } catch (err) {
          if (opts.signal?.aborted !== true || stopping.signal.aborted) throw err
          if (d.state === 'leased' || d.state === 'deploying' || d.state === 'running') {
            if (opts.onAbort === 'keep') {
              // the caller asked to keep it: it goes on without them, exactly as after a restart
              emit({ type: 'deploy:kept', detail: { order: d.order, provider: d.provider!, state: d.state } })
              logger.info({ order: d.order, provider: d.provider }, 'deploy aborted after its lease was final; the deployment is kept')
              background('deployment its deploy stopped waiting for', d, resume(d))
            } else {
              // nobody waits for it any more: close it, so nothing runs or is billed for nobody
              const reason = 'the deploy was aborted after its lease was final'
              startClose(d, reason)
              emit({ type: 'deploy:closing', detail: { order: d.order, provider: d.provider!, reason } })
              background('close of an aborted deploy', d, sendClose(d, AbortSignal.any([stopping.signal, AbortSignal.timeout(30_000)])))
            }
          }
          // whatever was under way when it came, the caller sees the abort's own reason
          throw opts.signal.reason
        }
      } finally {
        stopBids()
      }
    },

    async dryRun (sdl, opts = {}) {
      const loaded = mapAkashAuditors(typeof sdl === 'string' ? loadSdl(sdl) : sdl, auditorMap)
      const body = buildOrder(loaded, { bidWindowMs: opts.bidWindowMs ?? config.tenant.bidWindowMs, now: Date.now() })
      // signed so a provider can tell it comes from its tenant; never published, so nobody can bid on it
      const order = signMessage<OrderBody>(identity, MessageTag.ORDER, body)
      const peers = await providerCandidates()
      const answers: DryRunAnswer[] = []
      await Promise.all([...peers].map(async (p) => {
        const peer = peerIdFromString(p)
        // only peers that speak the explain protocol are providers; validators and tenants are left out
        let protocols: string[] = []
        try { protocols = (await net.libp2p.peerStore.get(peer)).protocols } catch {}
        const isProvider = protocols.some((x) => x.startsWith('/souk/explain/'))
        if (!isProvider && protocols.length > 0) return
        try {
          // one retry: a connection being set up (identify running) may refuse the first stream
          const a = await askExplain(net, peer, order.id, opts.signal, { dryRun: order.bytes })
            .catch(async () => await new Promise((resolve) => setTimeout(resolve, 250)).then(async () => await askExplain(net, peer, order.id, opts.signal, { dryRun: order.bytes })))
          if (a.decision == null) { answers.push({ provider: p, outcome: 'no-answer', reasons: [{ code: 'ERR_NO_DECISION', message: 'the provider gave no answer for this order' }] }); return }
          answers.push({ provider: p, outcome: a.decision.outcome === 'bid' ? 'bid' : 'declined', prices: a.decision.prices, reasons: a.decision.reasons })
        } catch (err: any) {
          if (!isProvider) return
          const old = protocols.includes('/souk/explain/1.0.0') && !protocols.includes('/souk/explain/2.0.0')
          answers.push({ provider: p, outcome: 'no-answer', reasons: [{ code: old ? 'ERR_NO_DRY_RUN' : DeployErrorCode.PROVIDER_UNREACHABLE, message: old ? 'this provider runs a souk without dry runs' : `could not ask it: ${String(err?.message ?? err)}` }] })
        }
      }))
      const rank = { bid: 0, declined: 1, 'no-answer': 2 }
      answers.sort((a, b) => rank[a.outcome] - rank[b.outcome] || a.provider.localeCompare(b.provider))
      return { totals: formatTotals(loaded.totals), notices: loaded.notices.map((n) => ({ path: n.path, message: n.message })), answers }
    },

    list: () => [...live.values()].map((d) => d.state === 'closed' && d.services?.some((x) => x.urls.length > 0) ? { ...d, services: closedServices(d.services) } : d),
    get: (order) => { try { return find(order) } catch { return undefined } },

    async status (order, opts = {}) {
      const d = find(order)
      if (d.state === 'closed') return { deployment: deploymentOf(d) }
      for await (const r of ask(d, { type: 'status', lease: Buffer.from(d.order, 'hex') }, opts.signal)) {
        if (r.kind === 'status') {
          const services = view(r.status)
          if (services.length > 0) { d.services = services; save(d) }
          return { deployment: deploymentOf(d), provider: r.status }
        }
        if (r.kind === 'error') throw new DeployError(r.code, r.reason)
      }
      throw new DeployError(DeployErrorCode.PROVIDER_UNREACHABLE, 'provider sent no status')
    },

    async * logs (order, opts = {}) {
      const d = find(order)
      for await (const r of ask(d, { type: 'logs', lease: Buffer.from(d.order, 'hex'), follow: opts.follow, tail: opts.tail, service: opts.service }, opts.signal)) {
        if (r.kind === 'log') yield r.log
        else if (r.kind === 'error') throw new DeployError(r.code, r.reason)
      }
    },

    async * events (order, opts = {}) {
      const d = find(order)
      for await (const r of ask(d, { type: 'events', lease: Buffer.from(d.order, 'hex'), follow: opts.follow }, opts.signal)) {
        if (r.kind === 'event') yield r.event
        else if (r.kind === 'error') throw new DeployError(r.code, r.reason)
      }
    },

    async update (order, sdl, opts = {}) {
      const d = find(order)
      if (d.state !== 'running') throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `lease ${d.order.slice(0, 12)} is ${d.state}; only a running lease can be updated`)
      const emit = (e: UpdateProgressEvent): void => { try { opts.onProgress?.(e) } catch {} }
      const loaded = typeof sdl === 'string' ? loadSdl(sdl) : sdl
      const manifest = canonicalManifestBytes(loaded.manifest)
      const sequence = (d.sequence ?? 0) + 1
      emit({ type: 'update:validated', detail: { order: d.order, sequence, totals: formatTotals(loaded.totals) } })
      opts.signal?.throwIfAborted()
      const lease = Buffer.from(d.order, 'hex')
      const update = signMessage<ManifestUpdateBody>(identity, MessageTag.MANIFEST_UPDATE, { lease, manifestHash: sha256(manifest), sequence })
      let result
      try {
        result = await net.sendManifest(providerOf(d), { lease, manifest, sequence, update: update.bytes }, { signal: opts.signal })
      } catch (err: any) {
        throw await unreachable(d, err)
      }
      heard(d)
      if (!result.ok) throw new DeployError(DeployErrorCode.MANIFEST_REFUSED, `provider refused the update: ${result.reason} (${result.code})`)
      emit({ type: 'update:manifest-accepted', detail: { order: d.order, sequence, provider: d.provider! } })
      const st = await watchStatus(d, opts, (x) => {
        if (x?.state === 'closed') throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `the provider closed the lease: ${x.closeReason ?? ''}`)
        if (x?.lastUpdate?.sequence === sequence && x.lastUpdate.error != null) {
          throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `the update failed and the previous manifest keeps running: ${x.lastUpdate.error}`)
        }
        return x?.sequence === sequence && x.state === 'running' ? x : undefined
      })
      if (st != null) {
        d.sequence = sequence
        d.manifest = manifest
        d.services = view(st)
        save(d)
        emit({ type: 'update:rolled-out', detail: { order: d.order, sequence, services: d.services } })
        return d
      }
      throw new DeployError(DeployErrorCode.TIMEOUT, 'the update did not roll out in time; the previous manifest keeps running')
    },

    async exec (order, opts) {
      const d = find(order)
      const service = opts.service ?? d.services?.[0]?.name
      if (service == null) throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `lease ${d.order.slice(0, 12)} has no running service`)
      return await openExec(net, providerOf(d), { lease: Buffer.from(d.order, 'hex'), service, command: opts.command, tty: opts.tty === true }, opts.signal)
    },

    async close (order, reason = '', opts = {}) {
      const emit = (e: CloseProgressEvent): void => { try { opts.onProgress?.(e) } catch {} }
      const d = find(order)
      if (d.state === 'closed') return d
      startClose(d, reason)
      emit({ type: 'close:signed', detail: { order: d.order, closedAt: d.closedAt! } })
      await sendClose(d, AbortSignal.any([stopping.signal, AbortSignal.timeout(30_000)]))
      emit({ type: 'close:sent', detail: { order: d.order, provider: d.provider } })
      return d
    }
  }
  // failover (failover.ts) wraps deploy, status and events: a deployment is followed across providers
  const plain = { deploy: role.deploy, status: role.status, events: role.events }
  const fo = failover({
    logger,
    defaults: { ...config.tenant.failover },
    accept: configAccept,
    get: (order) => live.get(order),
    find,
    all: () => [...live.values()],
    save,
    deploy: plain.deploy,
    close: (d, reason, code) => {
      if (d.close == null) {
        const close = signMessage<CloseBody>(identity, MessageTag.CLOSE, { lease: Buffer.from(d.order, 'hex'), reason: reason.slice(0, 400), code })
        d.closedAt ??= close.createdAt
        d.close = close.bytes
        d.closeCode = code
      }
      d.state = 'closing'
      d.reason = reason
      save(d)
      background('close of a lost lease', d, sendClose(d))
    },
    probe: async (d, signal) => {
      const r = await net.leaseRequest(providerOf(d), { type: 'status', lease: Buffer.from(d.order, 'hex') }, { signal }).next()
      if (r.value != null) heard(d)
      return r.value != null
    },
    status: plain.status,
    events: plain.events,
    stopping: stopping.signal
  })
  role.deploy = fo.deploy
  role.status = fo.status
  role.events = fo.events
  return role
}
