// A provider inside a node: orders from gossip go to the bid engine; leases certified for this
// provider go to the lease lifecycle; manifests arrive on the manifest stream; tenants read
// status, logs and events and close on the lease stream; the role is advertised in the DHT.
import type { PeerId } from '@libp2p/interface'
import { signMessage, openMessage, MessageTag, toHex, WireError } from '../wire/index.ts'
import type { SignedMessage, OrderBody, BidBody, CloseBody, ManifestUpdateBody } from '../wire/index.ts'
import { Topic, accept, refuse, peerIsKey, MAX_SYNC_LEASES } from '../net/index.ts'
import type { SoukNode, LeaseService } from '../net/index.ts'
import { bidEngine, providerLeases, LeaseRefusedError, memoryDecisionStore, formatDecision, usageMeter, addAmounts, leaseHistory, MarketError } from '../market/index.ts'
import type { BidEngine, ProviderLeases, SavedProviderLease, Decision, PricingConfig, UsageMeter, UsageRecord, ReservationProvider, ReservationDemand, HistoryEntry, LeaseHistory } from '../market/index.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { sendUsage } from './usage-protocol.ts'
// the inventory by its own file: the folder's index also holds the runtimes, which load their clients
import { inventory, hostCapacity, unenforcedKinds, FIT_REASON_CODE } from '../runtime/inventory.ts'
import type { ContainerRuntime, Inventory, SandboxReport, DeployedLease, RuntimeNotice, ResourceRequest, FitReason } from '../runtime/index.ts'
import { ingress, planRoutes, leaseHostname } from '../runtime/ingress/index.ts'
import type { Ingress, IngressRoute } from '../runtime/ingress/index.ts'
import type { Manifest } from '../sdl/index.ts'
import type { Store } from '../store/index.ts'
import type { MetricsRegistry } from '../api/index.ts'
import { records } from './records.ts'
import { peerIdOfPublicKey } from '../identity/index.ts'
import type { Identity } from '../identity/index.ts'
import { acceptsUnenforcedStorage } from '../config/index.ts'
import { ingressInit } from '../config/ingress.ts'
import type { SoukConfig } from '../config/index.ts'
import type { LeaseBook, LeaseRecord, ExpiryRecord } from './lease-book.ts'
import { handleExplain } from './explain-protocol.ts'
import { handleExec } from './exec-protocol.ts'
import { gpusForProvider } from './gpu-offer.ts'
import type { Logger } from './logger.ts'

export interface ProviderRole {
  readonly engine: BidEngine
  /** each lease's lifecycle, from the committee's decision to the close */
  readonly history: LeaseHistory
  /** the HTTP ingress, when it runs */
  readonly ingress: () => Ingress | undefined
  readonly leases: ProviderLeases
  readonly inventory: Inventory
  readonly runtime: ContainerRuntime
  readonly usage: UsageMeter
  /** an order ID or a unique prefix of one */
  explain: (orderId: string) => Promise<Decision | undefined>
  status: () => Promise<Record<string, unknown>>
  /** new prices and attributes for the next bids (a reload); a bad set throws and changes nothing */
  reconfigure: (next: SoukConfig['provider']) => void
  start: () => Promise<void>
  stop: () => Promise<void>
}

export interface ProviderRoleComponents {
  identity: Identity
  net: SoukNode
  book: LeaseBook
  runtime: ContainerRuntime
  logger: Logger
  home: string
  store: Store
  metrics?: MetricsRegistry
  /** the validators of the latest epoch (keys): asked for the Closes this provider missed */
  committeeKeys?: () => Uint8Array[]
}

/** one peer is asked for the Closes of the leases held here at most this often by the sweep */
const CLOSE_SYNC_MIN_INTERVAL_MS = 10_000
/** and at most this often on its connections (a connection made while the start asks is not asked twice) */
const CLOSE_SYNC_CONNECT_INTERVAL_MS = 2_000
/** how often a running provider asks one validator anyway, for Closes its gossip lost */
const CLOSE_SYNC_SWEEP_MS = 60_000
/** a reconcile the runtime refused (engine down) is tried again after this long */
const RECONCILE_RETRY_MS = 5_000

/**
 * what survives a provider restart: the lease's own record (market/provider-leases.ts: enough to
 * re-adopt its containers and finish a deploy, update or close cut short) and its hostnames
 */
type SavedLease = SavedProviderLease & { routes?: IngressRoute[] }

/** engine events worth keeping in a lease's history, under the history's names */
const ENGINE_EVENTS: Record<string, string> = { start: 'replica:started', die: 'replica:exited', oom: 'replica:oom', restart: 'replica:restarted', kill: 'replica:killed' }

/** a lifecycle event of the provider's lease machinery, as a history entry (undefined: not kept) */
export function historyEntry (type: string, detail: any): Omit<HistoryEntry, 'time'> | undefined {
  const services = (m: Manifest | undefined): string => (m?.groups ?? []).flatMap((g) => g.services.map((x) => `${x.name} (${x.image}) ×${x.count}`)).join(', ')
  switch (type) {
    case 'lease:won': return { type, message: 'the committee made the lease final with this provider' }
    case 'manifest:accepted': return { type: 'manifest:received', message: `manifest 0: ${services(detail?.manifest)}` }
    case 'manifest:update-accepted': return { type: 'manifest:received', message: `manifest ${String(detail?.sequence)} (update): ${services(detail?.manifest)}` }
    case 'runtime:image:pull': return { type: 'image:pull', message: String(detail?.image ?? '') }
    case 'runtime:replica:create': return { type: 'replica:created', replica: detail?.name }
    case 'runtime:replica:start': return { type: 'replica:started', replica: detail?.name }
    case 'runtime:network:create': return { type: 'network:created', message: detail?.name }
    case 'runtime:namespace:create': return { type: 'namespace:created', message: detail?.name }
    case 'runtime:workload:create': return { type: 'workload:created', message: detail?.name }
    case 'lease:redeploying': return { type, message: String(detail?.reason ?? '') }
    case 'lease:running': return { type, message: (detail?.services ?? []).map((x: any) => `${String(x.name)} ${String(x.ready)}/${String(x.count)}`).join(', ') }
    case 'lease:updated': return { type, message: `manifest ${String(detail?.sequence)} running` }
    case 'lease:update-failed': return { type, message: `manifest ${String(detail?.sequence)} failed, the previous one keeps running: ${String(detail?.error)}` }
    case 'lease:deploy-failed': return { type, message: String(detail?.error) }
    case 'lease:closed': return { type, message: String(detail?.reason ?? '') }
    default: return undefined
  }
}

/**
 * Every resource an order falls short of, not the first one only: the request is checked one
 * resource at a time (cpu, memory with RAM volumes, storage, GPUs) against what is free.
 */
export function capacityReasons (inv: Pick<Inventory, 'fits'>, demand: ReservationDemand): Array<{ code: string, message: string }> {
  const request: ResourceRequest = demand.groups.flatMap((g) => g.resources.map((r) => ({ resources: { cpu: r.cpu, memory: r.memory, storage: r.storage, gpu: r.gpu }, count: r.count })))
  const whole = inv.fits(request)
  if (whole.ok) return []
  const noGpu = { units: 0, models: [] }
  const views: ResourceRequest[] = [
    request.map((x) => ({ count: x.count, resources: { cpu: x.resources.cpu, memory: 0, storage: [], gpu: noGpu } })),
    request.map((x) => ({ count: x.count, resources: { cpu: 0, memory: x.resources.memory, storage: x.resources.storage.filter((v) => v.class === 'ram'), gpu: noGpu } })),
    request.map((x) => ({ count: x.count, resources: { cpu: 0, memory: 0, storage: x.resources.storage.filter((v) => v.class !== 'ram'), gpu: noGpu } })),
    request.map((x) => ({ count: x.count, resources: { cpu: 0, memory: 0, storage: [], gpu: x.resources.gpu } }))
  ]
  const out: Array<{ code: string, message: string }> = []
  for (const v of views) {
    const r = inv.fits(v)
    if (!r.ok && !out.some((o) => o.message === r.message)) out.push({ code: FIT_REASON_CODE[r.reason as FitReason] ?? 'ERR_RESERVATION_FAILED', message: r.message })
  }
  return out.length > 0 ? out : [{ code: FIT_REASON_CODE[whole.reason as FitReason] ?? 'ERR_RESERVATION_FAILED', message: whole.message }]
}

export function pricingFromConfig (p: SoukConfig['provider']): PricingConfig {
  if (p.pricingScript !== '') return { script: { command: p.pricingScript, denom: p.denom } }
  const x = p.prices
  return {
    table: {
      denom: p.denom,
      cpu: x.cpu,
      memory: x.memory,
      storage: { ephemeral: x.storage ?? '0', '*': x.storage ?? '0' },
      gpu: { '*': x.gpu ?? '0' },
      endpoint: x.endpoint
    }
  }
}

/** the bid's attributes: the operator's, plus the sandbox leases run in, so tenants can ask for it in placement */
export function bidAttributes (configured: Record<string, string>, sandbox: SandboxReport | undefined, logger?: Logger): Record<string, string> {
  const out = { ...configured }
  if (sandbox?.runtime === 'docker') {
    if (out.sandbox != null && out.sandbox !== sandbox.ociRuntime) logger?.warn({ configured: out.sandbox, actual: sandbox.ociRuntime }, 'attribute sandbox is set from the OCI runtime leases run under')
    out.sandbox = sandbox.ociRuntime
  }
  return out
}

export async function providerRole (config: SoukConfig, components: ProviderRoleComponents): Promise<ProviderRole> {
  const { identity, net, book, runtime, logger } = components
  const p = config.provider
  const gpus = await gpusForProvider(config, logger)
  const capacity = await hostCapacity({
    dataDir: components.home,
    gpus,
    override: { ...(p.cpu > 0 ? { cpu: p.cpu } : {}), ...(p.memory > 0 ? { memory: p.memory } : {}), ...(p.storage > 0 ? { storage: p.storage } : {}) }
  })
  // what the runtime holds tenants to decides what this provider bids on
  const sandbox = await runtime.sandbox().catch((err: any): SandboxReport | undefined => {
    logger.warn({ err: String(err?.message ?? err) }, 'the runtime could not describe its sandbox')
    return undefined
  })
  for (const note of sandbox?.notes ?? []) logger.info({ note }, 'sandbox')
  const unenforcedStorage = acceptsUnenforcedStorage(config) ? [] : unenforcedKinds(sandbox)
  const inv = inventory({ capacity, overcommit: { cpu: p.cpuOvercommit, memory: p.memoryOvercommit }, unenforcedStorage })
  const decisions = memoryDecisionStore()
  const publish = (topic: string, msg: SignedMessage): void => {
    book.record(msg)
    net.gossip.publish(topic, msg).catch((err: any) => logger.debug({ err: String(err?.message ?? err) }, 'publish failed'))
  }
  const reservations: ReservationProvider = { ...inv.reservationProvider(), check: (demand) => capacityReasons(inv, demand) }
  const engine = bidEngine({ attributes: bidAttributes(p.attributes, sandbox, logger), pricing: pricingFromConfig(p) })({
    identity,
    reservations,
    store: decisions,
    metrics: components.metrics,
    publishBid: (bid) => { publish(Topic.BIDS, bid) }
  })
  const historyRecords = records<HistoryEntry[]>(components.store, 'provider-lease-history')
  const history = leaseHistory()({ store: { get: (id) => historyRecords.get(id), put: (id, e) => { historyRecords.put(id, e) } } })
  const ingressPlan = ingressInit(config, components.home)
  if ('off' in ingressPlan) logger.info({ why: ingressPlan.off }, 'ingress off: HTTP services are reported on host ports')
  // a port picked at random is kept in the store and asked for again, so URLs survive a restart
  const ingressState = records<{ port: number }>(components.store, 'provider-ingress')
  const preferPort = 'init' in ingressPlan && ingressPlan.init.port === 0 ? ingressState.get('http')?.port : undefined
  let ing: Ingress | undefined = 'init' in ingressPlan ? ingress({ ...ingressPlan.init, preferPort })({ runtime, logger, metrics: components.metrics }) : undefined
  /** notices about a lease's hostnames (refused accept names), by lease */
  const routeNotices = new Map<string, RuntimeNotice[]>()
  function applyRoutes (leaseId: string, routes: IngressRoute[], notices: RuntimeNotice[]): void {
    if (ing == null) return
    const { refused } = ing.routes.set(leaseId, routes)
    routeNotices.set(leaseId, [...notices, ...refused.map((r) => ({ path: `services.${r.service}`, code: 'accept-hostnames', message: `${r.host} is not routed: ${r.reason}` }))])
    ing.invalidate(leaseId)
  }
  function routeLease (leaseId: string): void {
    const l = leases.get(leaseId)
    if (ing == null || l?.manifest == null) return
    const plan = planRoutes(l.manifest, leaseId, ing.domain)
    applyRoutes(leaseId, plan.routes, plan.notices)
  }
  // engine events (exits, OOM kills, restarts) of running leases, into their history
  const watchers = new Map<string, AbortController>()
  const updating = new Set<string>()
  function watch (leaseId: string): void {
    if (watchers.has(leaseId)) return
    const ac = new AbortController()
    watchers.set(leaseId, ac)
    void (async () => {
      while (!ac.signal.aborted) {
        try {
          for await (const e of runtime.events(leaseId, { signal: ac.signal })) {
            const type = ENGINE_EVENTS[e.type] ?? (runtime.name === 'kubernetes' ? `runtime:${e.type}` : undefined)
            // starts during a rollout are already recorded from the rollout itself
            if (type == null || (type === 'replica:started' && updating.has(leaseId))) continue
            history.record(leaseId, { type, time: e.time > 0 ? e.time : undefined, service: e.service, replica: e.replica, message: e.type === 'oom' ? 'out of memory: the kernel killed the process' : e.message })
          }
        } catch (err: any) {
          logger.debug({ lease: leaseId.slice(0, 12), err: String(err?.message ?? err) }, 'engine events stopped; watching again')
        }
        await new Promise((resolve) => setTimeout(resolve, 2000).unref())
      }
    })()
  }
  function unwatch (leaseId: string): void {
    watchers.get(leaseId)?.abort()
    watchers.delete(leaseId)
  }
  const saved = records<SavedLease>(components.store, 'provider-lease')
  const leases = providerLeases({ manifestTimeoutMs: p.manifestTimeoutMs })({
    signer: identity,
    runtime,
    save: (rec) => {
      // a lease restored after a restart has no routes in memory until they are applied: they carry over
      const routes = ing?.routes.routes(rec.lease) ?? saved.get(rec.lease)?.routes
      saved.put(rec.lease, { ...rec, ...(routes != null && rec.state !== 'closed' ? { routes } : {}) })
    },
    releaseReservation: (orderId) => { void engine.onLeaseClosed(orderId) },
    announceClose: async (leaseId, reason) => {
      publish(Topic.LEASES, signMessage<CloseBody>(identity, MessageTag.CLOSE, { lease: Buffer.from(leaseId, 'hex'), reason }))
    },
    onEvent: (evt) => {
      logger.info({ lease: evt.leaseId.slice(0, 12), event: evt.type }, 'lease event')
      const entry = historyEntry(evt.type, evt.detail)
      if (entry != null) history.record(evt.leaseId, entry)
      if (evt.type === 'manifest:update-accepted') updating.add(evt.leaseId)
      if (evt.type === 'lease:updated' || evt.type === 'lease:update-failed') updating.delete(evt.leaseId)
      if (evt.type === 'lease:running' || evt.type === 'lease:updated') routeLease(evt.leaseId)
      if (evt.type === 'lease:running') { meterLease(evt.leaseId); watch(evt.leaseId) }
      if (evt.type === 'lease:closed') { usage.untrack(evt.leaseId); unwatch(evt.leaseId); ing?.routes.remove(evt.leaseId); routeNotices.delete(evt.leaseId) }
    }
  })
  const usageSaved = records<{ lease: string, records: UsageRecord[] }>(components.store, 'provider-usage')
  const usage = usageMeter({ intervalMs: p.usageIntervalMs, graceMs: p.usageGraceMs })({
    signer: identity,
    sendStatement: async (lease, statement) => {
      const answer = await sendUsage(net, peerIdFromString(peerIdOfPublicKey(lease.tenant)), statement)
      if (answer.ok) usage.handleAck(answer.ack)
      else logger.warn({ lease: statement.body.lease, code: answer.code, reason: answer.reason }, 'tenant refused a usage statement')
    },
    closeLease: async (leaseId, reason) => { await track(leases.close(leaseId, reason)) },
    onRecord: (leaseId) => { usageSaved.put(leaseId, { lease: leaseId, records: usage.records(leaseId) }) }
  })
  /** bills from now at the winning bid's price (all groups in one denom) */
  function meterLease (leaseId: string, previous?: UsageRecord[]): void {
    const l = leases.get(leaseId)
    if (l == null) return
    const denoms = new Set(l.bid.body.prices.map((x) => x.denom))
    if (denoms.size !== 1) { logger.warn({ lease: leaseId }, 'bid prices span several denoms; usage is not metered'); return }
    usage.track({ leaseId: l.order.id, tenant: l.order.signer, rate: { denom: l.bid.body.prices[0].denom, amount: addAmounts(...l.bid.body.prices.map((x) => x.amount)) }, startedAt: Date.now(), previous })
  }
  // leases held before a restart (their bytes were verified when first received)
  for (const s of saved.list()) {
    if (s.state === 'closed') continue
    try {
      const order = openMessage<OrderBody>(s.order, { trusted: true })
      const bid = openMessage<BidBody>(s.bid, { trusted: true })
      leases.restore(order, bid, s)
      // a lease cut short while deploying is metered once it runs
      if (s.state === 'running') {
        // statements were stored with their envelopes; reopen them (verified when made)
        const prior = (usageSaved.get(s.lease)?.records ?? []).map((r: any) => ({
          statement: openMessage<any>(r.statement.bytes, { trusted: true }),
          ack: r.ack != null ? openMessage<any>(r.ack.bytes, { trusted: true }) : undefined
        }))
        meterLease(s.lease, prior)
      }
      // the lease's containers still use their share of the host; held by the engine as won, so closing gives it back
      const held = await engine.adopt(s.lease, peerIdOfPublicKey(order.signer), { order: s.lease, groups: order.body.groups.map((g) => ({ name: g.name, resources: g.resources })) })
      if (!held.ok) logger.warn({ lease: s.lease.slice(0, 12), why: held.message }, 'an adopted lease does not fit the capacity now configured; it keeps running')
      // the hostnames it had stay its own (generated ones follow the configured domain)
      if (ing != null && s.routes != null) {
        const domain = ing.domain
        applyRoutes(s.lease, s.routes.map((r) => r.generated ? { ...r, host: leaseHostname(r.service, s.lease, domain) } : r), [])
      }
    } catch (err: any) {
      logger.warn({ lease: s.lease, err: String(err?.message ?? err) }, 'could not restore a saved lease')
    }
  }
  const me = toHex(identity.publicKey)
  const runtimeErrors = components.metrics?.counter('souk_runtime_errors_total', 'container runtime calls that failed, by operation')
  const leaseStates = components.metrics?.gauge('souk_provider_leases', 'leases this provider holds, by state', (g) => {
    const counts: Record<string, number> = { 'awaiting-manifest': 0, deploying: 0, running: 0, closing: 0, closed: 0 }
    for (const l of leases.list()) counts[l.state]++
    for (const [state, n] of Object.entries(counts)) g.set(n, { state })
  })
  void leaseStates
  // closes under way finish (and are stored) before the role stops and the store closes
  const inflight = new Set<Promise<unknown>>()
  function track<T> (p: Promise<T>): Promise<T> {
    const q = p.catch((err: any) => { logger.warn({ err: String(err?.message ?? err) }, 'lease close failed') })
    inflight.add(q)
    void q.finally(() => inflight.delete(q))
    return p
  }
  const unsubs: Array<() => void> = []
  const stoppers: Array<() => Promise<void>> = []
  const lifetime = new AbortController()

  /**
   * A Close of a lease held here, however it came (gossip, a peer's answer after a restart or a
   * reconnect): taken when the lease's tenant signed it, or this provider. Its signature was
   * checked where it came in; closing is idempotent.
   */
  function onClose (m: SignedMessage<CloseBody>): void {
    const leaseId = toHex(m.body.lease)
    const l = leases.get(leaseId)
    if (l == null || l.state === 'closed') return
    const signer = toHex(m.signer)
    const who = signer === toHex(l.order.signer) ? 'tenant' : signer === me ? 'provider' : undefined
    if (who == null) return
    track(leases.close(leaseId, m.body.reason === '' ? `closed by the ${who}` : `closed by the ${who}: ${m.body.reason}`))
  }

  // The fate of each lease held: a provider that was down (or cut off) when a Close went out never
  // got it by gossip; the validators keep every Close the committee ordered, and any node the ones
  // it heard. It asks them on start, on each (re)connection, and once a minute one validator.
  const askedAt = new Map<string, number>()
  const members = (): Set<string> => new Set((components.committeeKeys?.() ?? []).map((k) => peerIdOfPublicKey(k)))
  async function learnCloses (peer: PeerId, minIntervalMs: number): Promise<void> {
    const key = peer.toString()
    const now = Date.now()
    if (now - (askedAt.get(key) ?? 0) < minIntervalMs) return
    const open = leases.list().filter((l) => l.state !== 'closed')
    if (open.length === 0) return
    askedAt.set(key, now)
    if (askedAt.size > 1024) askedAt.delete(askedAt.keys().next().value as string)
    for (let i = 0; i < open.length && !lifetime.signal.aborted; i += MAX_SYNC_LEASES) {
      try {
        const r = await net.syncCloses(peer, open.slice(i, i + MAX_SYNC_LEASES).map((l) => l.order.id), { signal: lifetime.signal })
        if (r.closes.length > 0) logger.info({ peer: key, closes: r.closes.length }, 'learned of closes missed while away')
        for (const m of r.closes) onClose(m)
      } catch (err: any) {
        logger.debug({ peer: key, err: String(err?.message ?? err) }, 'asking a peer for closes failed')
        return
      }
    }
  }
  /** a validator, or the tenant of a lease held here */
  function worthAsking (peer: string): boolean {
    if (members().has(peer)) return true
    return leases.list().some((l) => l.state !== 'closed' && l.tenantPeerId === peer)
  }
  const onConnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail
    if (worthAsking(peer.toString())) void learnCloses(peer, CLOSE_SYNC_CONNECT_INTERVAL_MS)
  }
  let sweepTurn = 0
  function sweepCloses (): void {
    const connected = net.libp2p.getPeers().filter((p) => members().has(p.toString()))
    if (connected.length === 0) return
    void learnCloses(connected[sweepTurn++ % connected.length], CLOSE_SYNC_MIN_INTERVAL_MS)
  }

  /** reconcile (and what it finishes) until the runtime lets it through */
  async function reconcileUntilDone (): Promise<void> {
    while (!lifetime.signal.aborted) {
      try {
        const r = await leases.reconcile()
        if (r.removed.length > 0) logger.info({ removed: r.removed.length }, 'removed objects of leases this provider no longer holds')
        return
      } catch (err: any) {
        runtimeErrors?.inc({ op: 'reconcile' })
        logger.warn({ err: String(err?.message ?? err) }, 'reconcile not finished; trying again')
      }
      await new Promise((resolve) => setTimeout(resolve, RECONCILE_RETRY_MS).unref())
    }
  }

  function onLease (rec: LeaseRecord): void {
    const order = book.order(rec.orderId)
    if (rec.provider !== me) {
      if (order != null) void engine.onBidLost(rec.orderId)
      return
    }
    const bid = book.bid(rec.bidId)
    if (order == null || bid == null) {
      logger.warn({ lease: rec.orderId }, 'won a lease whose order or bid this node never saw')
      return
    }
    void engine.onLeaseWon(rec.orderId)
    leases.leaseWon(order, bid)
  }

  const authorizeTenant = (remote: PeerId, lease: Uint8Array): ReturnType<typeof accept> => {
    const l = leases.get(toHex(lease))
    if (l == null) return refuse('ERR_UNKNOWN_LEASE', 'no lease with that ID at this provider')
    if (!peerIsKey(remote, l.order.signer)) return refuse('ERR_NOT_LEASE_TENANT', 'only the lease\'s tenant may do that')
    return accept()
  }

  /** HTTP ports routed through the ingress are reported by hostname, ahead of the host ports */
  function withIngress (leaseId: string, deployed: DeployedLease): DeployedLease {
    if (ing == null) return deployed
    const routes = ing.routes.routes(leaseId)
    const extra = routeNotices.get(leaseId) ?? []
    if (routes.length === 0 && extra.length === 0) return deployed
    const routed = new Set(routes.map((r) => r.service))
    return {
      ...deployed,
      services: deployed.services.map((s) => {
        const mine = routes.filter((r) => r.service === s.name)
        if (mine.length === 0) return s
        const urls = mine.map((r) => ({ port: r.port, as: s.urls.find((u) => u.port === r.port)?.as ?? 80, proto: 'tcp' as const, url: ing!.url(r.host), host: r.host, hostPort: ing!.tlsPort() ?? ing!.port() }))
        // the stable hostnames first; the host ports after them (they change on updates, but reach the service without DNS)
        return { ...s, urls: [...urls, ...s.urls] }
      }),
      // the runtime alone has no ingress and says so; here there is one
      notices: [...deployed.notices.filter((n) => !(n.code === 'accept-hostnames' || (n.code === 'port-remapped' && routed.has(n.path.split('.')[1] ?? '')))), ...extra]
    }
  }

  const service: LeaseService = {
    authorize: (remote, req) => authorizeTenant(remote, req.lease),
    status: async (lease) => {
      const l = leases.get(toHex(lease))!
      const base = { state: l.state, sequence: l.sequence, closeReason: l.closeReason, error: l.error, lastUpdate: l.lastUpdate }
      if (l.state !== 'running') return base
      try {
        return { ...base, deployed: withIngress(l.leaseId, await runtime.status(l.leaseId)), recent: history.list(l.leaseId).slice(-5) }
      } catch (err: any) {
        runtimeErrors?.inc({ op: 'status' })
        // transient (the engine restarting, say): not a failed deployment
        return { ...base, statusError: String(err?.message ?? err) }
      }
    },
    logs: (lease, o) => (async function * () {
      for await (const line of runtime.logs(toHex(lease), { follow: o.follow, tail: o.tail, service: o.service, signal: o.signal })) yield line
    })(),
    // the lease's history from the start; with follow, then each new entry as it is recorded
    events: (lease, o) => (async function * () {
      const id = toHex(lease)
      const entries = o.follow ? history.follow(id, { signal: o.signal }) : history.list(id)
      for await (const e of entries) yield { type: e.type, time: e.time, service: e.service, replica: e.replica, message: e.message?.slice(0, 512) }
    })(),
    close: async (lease, close) => {
      await track(leases.close(toHex(lease), close.body.reason === '' ? 'closed by the tenant' : `closed by the tenant: ${close.body.reason}`))
    }
  }

  return {
    engine,
    history,
    ingress: () => ing,
    leases,
    inventory: inv,
    runtime,
    usage,
    explain: async (orderId) => {
      try {
        return await engine.explain(orderId.toLowerCase())
      } catch (err) {
        if (err instanceof MarketError) throw Object.assign(new Error(err.message), { code: err.code, status: 400 })
        throw err
      }
    },
    reconfigure: (next) => { engine.reconfigure({ attributes: bidAttributes(next.attributes, sandbox, logger), pricing: pricingFromConfig(next) }) },
    async status () {
      return {
        runtime: runtime.name,
        sandbox: await runtime.sandbox().catch((err: any) => ({ error: String(err?.message ?? err) })),
        declinedStorage: unenforcedStorage,
        // what the operator accepts although the runtime cannot hold it to size
        acceptedUnenforcedStorage: acceptsUnenforcedStorage(config) ? unenforcedKinds(sandbox) : [],
        attributes: bidAttributes(p.attributes, sandbox),
        capacity: inv.capacity(),
        free: inv.free(),
        reservations: engine.held(),
        ingress: ing != null ? { port: ing.port(), tlsPort: ing.tlsPort(), domain: ing.domain } : undefined,
        leases: leases.list().map((l) => ({ lease: l.leaseId, state: l.state, tenant: l.tenantPeerId, closeReason: l.closeReason, error: l.error }))
      }
    },
    async start () {
      unsubs.push(net.gossip.onMessage(Topic.ORDERS, (m) => {
        if (m.tag !== MessageTag.ORDER) return
        void engine.handleOrder(m as SignedMessage<OrderBody>).then((d) => {
          logger.info({ order: d.order.slice(0, 12), decision: formatDecision(d) }, 'order decided')
        }).catch((err: any) => logger.warn({ err: String(err?.message ?? err) }, 'bid engine failed'))
      }))
      unsubs.push(book.on('lease', onLease))
      unsubs.push(book.on('expired', (e: ExpiryRecord) => { void engine.onBidLost(e.orderId) }))
      unsubs.push(net.gossip.onMessage(Topic.LEASES, (m) => { if (m.tag === MessageTag.CLOSE) onClose(m as SignedMessage<CloseBody>) }))
      unsubs.push(book.on('closed', (rec: LeaseRecord) => {
        if (rec.provider === me) track(leases.close(rec.orderId, rec.closeReason == null || rec.closeReason === '' ? `closed by the ${rec.closedBy ?? 'tenant'}` : `closed by the ${rec.closedBy ?? 'tenant'}: ${rec.closeReason}`))
      }))
      stoppers.push(await net.handleManifest({
        onManifest: (remote, frame) => {
          try {
            if (frame.update != null) leases.acceptUpdate(remote.toString(), openMessage<ManifestUpdateBody>(frame.update, { expect: MessageTag.MANIFEST_UPDATE }))
            leases.accept(remote.toString(), frame).done.catch(() => runtimeErrors?.inc({ op: frame.sequence === 0 ? 'deploy' : 'update' }))
            return accept()
          } catch (err: any) {
            if (err instanceof LeaseRefusedError || err instanceof WireError) return refuse(err.code, err.message)
            return refuse('ERR_INTERNAL', String(err?.message ?? err))
          }
        }
      }))
      stoppers.push(await net.handleLease({ service }))
      stoppers.push(await handleExec(net, async (remote, req) => {
        const d = authorizeTenant(remote, req.lease)
        if (!d.ok) throw Object.assign(new Error(d.reason), { code: d.code })
        return await runtime.exec(toHex(req.lease), { service: req.service, command: req.command, tty: req.tty })
      }, { isClosed: (id) => leases.get(id)?.state === 'closed' || leases.get(id)?.state === 'closing' || book.lease(id)?.state === 'closed' }))
      stoppers.push(await handleExplain(net, {
        lookup: async (orderId, remote) => {
          const order = book.order(orderId)
          if (order == null || !peerIsKey(remote, order.signer)) return undefined
          return await engine.explain(orderId)
        },
        // an order its tenant has not published: what this provider would do, holding and sending nothing
        dryRun: async (envelope, remote, signal) => {
          const order = openMessage<OrderBody>(envelope, { expect: MessageTag.ORDER })
          if (!peerIsKey(remote, order.signer)) return undefined
          return await engine.evaluate(order, { signal })
        }
      }))
      if (ing != null) {
        try {
          await ing.start()
          ingressState.put('http', { port: ing.port() })
          logger.info({ port: ing.port(), tlsPort: ing.tlsPort(), domain: ing.domain }, 'ingress listening')
        } catch (err: any) {
          logger.warn({ err: String(err?.message ?? err) }, 'ingress off: HTTP services are reported on host ports')
          ing = undefined
        }
      }
      for (const l of leases.list()) if (l.state === 'running') watch(l.leaseId)
      // leases made before a restart: keep their containers, remove strays, finish what the
      // restart cut short (in the background: a runtime that is down is waited for)
      track(reconcileUntilDone())
      net.libp2p.addEventListener('peer:connect', onConnect)
      unsubs.push(() => { net.libp2p.removeEventListener('peer:connect', onConnect) })
      for (const peer of net.libp2p.getPeers()) if (worthAsking(peer.toString())) void learnCloses(peer, 0)
      const sweep = setInterval(sweepCloses, CLOSE_SYNC_SWEEP_MS)
      sweep.unref()
      unsubs.push(() => { clearInterval(sweep) })
      usage.start()
      net.provideRole('provider').catch((err: any) => logger.debug({ err: String(err?.message ?? err) }, 'DHT announce failed; will retry'))
    },
    async stop () {
      lifetime.abort()
      for (const u of unsubs.splice(0)) u()
      for (const s of stoppers.splice(0)) await s().catch(() => {})
      usage.stop()
      await Promise.allSettled([...inflight])
      for (const id of [...watchers.keys()]) unwatch(id)
      await ing?.stop()
      leases.stop()
      await engine.stop()
    }
  }
}

