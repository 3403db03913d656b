// A provider inside a node: orders from gossip go to the bid engine; leases certified for this
// provider go to the lease lifecycle; manifests arrive on the manifest stream; tenants read
// status, logs and events and close on the lease stream; the role is advertised in the DHT.
import type { PeerId } from '@libp2p/interface'
import { signMessage, openMessage, MessageTag, toHex, WireError } from '../wire/index.ts'
import type { SignedMessage, OrderBody, BidBody, CloseBody, ManifestUpdateBody } from '../wire/index.ts'
import { Topic, accept, refuse, peerIsKey } from '../net/index.ts'
import type { SoukNode, LeaseService } from '../net/index.ts'
import { bidEngine, providerLeases, LeaseRefusedError, memoryDecisionStore, formatDecision, usageMeter, addAmounts } from '../market/index.ts'
import type { BidEngine, ProviderLeases, Decision, PricingConfig, UsageMeter, UsageRecord } from '../market/index.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { sendUsage } from './usage-protocol.ts'
import { inventory, hostCapacity, detectNvidiaGpus, unenforcedKinds } from '../runtime/index.ts'
import type { ContainerRuntime, Inventory, SandboxReport } from '../runtime/index.ts'
import type { Store } from '../store/index.ts'
import type { MetricsRegistry } from '../api/index.ts'
import { records } from './records.ts'
import { peerIdOfPublicKey } from '../identity/index.ts'
import type { Identity } from '../identity/index.ts'
import { acceptsUnenforcedStorage } from '../config/index.ts'
import type { SoukConfig } from '../config/index.ts'
import type { LeaseBook, LeaseRecord, ExpiryRecord } from './lease-book.ts'
import { handleExplain } from './explain-protocol.ts'
import { handleExec } from './exec-protocol.ts'
import type { Logger } from './logger.ts'

export interface ProviderRole {
  readonly engine: BidEngine
  readonly leases: ProviderLeases
  readonly inventory: Inventory
  readonly runtime: ContainerRuntime
  readonly usage: UsageMeter
  explain: (orderId: string) => Promise<Decision | undefined>
  status: () => Promise<Record<string, unknown>>
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
}

/** what survives a provider restart: enough to re-adopt the lease's containers */
interface SavedLease { lease: string, order: Uint8Array, bid: Uint8Array, state: string, sequence: number, closeReason?: string }

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
  const gpus = await detectNvidiaGpus().catch(() => [])
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
  const engine = bidEngine({ attributes: bidAttributes(p.attributes, sandbox, logger), pricing: pricingFromConfig(p) })({
    identity,
    reservations: inv.reservationProvider(),
    store: decisions,
    metrics: components.metrics,
    publishBid: (bid) => { publish(Topic.BIDS, bid) }
  })
  const leases = providerLeases({ manifestTimeoutMs: p.manifestTimeoutMs })({
    signer: identity,
    runtime,
    releaseReservation: (orderId) => { void engine.onLeaseClosed(orderId) },
    announceClose: async (leaseId, reason) => {
      publish(Topic.LEASES, signMessage<CloseBody>(identity, MessageTag.CLOSE, { lease: Buffer.from(leaseId, 'hex'), reason }))
    },
    onEvent: (evt) => {
      logger.info({ lease: evt.leaseId.slice(0, 12), event: evt.type }, 'lease event')
      if (evt.type === 'lease:running') meterLease(evt.leaseId)
      if (evt.type === 'lease:closed') usage.untrack(evt.leaseId)
      if (['lease:won', 'manifest:accepted', 'lease:running', 'lease:updated', 'lease:closed'].includes(evt.type)) persist(evt.leaseId)
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
  const saved = records<SavedLease>(components.store, 'provider-lease')
  function persist (leaseId: string): void {
    const l = leases.get(leaseId)
    if (l == null) return
    saved.put(leaseId, { lease: leaseId, order: l.order.bytes, bid: l.bid.bytes, state: l.state, sequence: l.sequence, closeReason: l.closeReason })
  }
  // leases held before a restart (their bytes were verified when first received)
  for (const s of saved.list()) {
    if (s.state === 'closed') continue
    try {
      const order = openMessage<OrderBody>(s.order, { trusted: true })
      const bid = openMessage<BidBody>(s.bid, { trusted: true })
      leases.restore(order, bid, s.state as any, s.sequence)
      if (s.state === 'running' || s.state === 'deploying') {
        // statements were stored with their envelopes; reopen them (verified when made)
        const prior = (usageSaved.get(s.lease)?.records ?? []).map((r: any) => ({
          statement: openMessage<any>(r.statement.bytes, { trusted: true }),
          ack: r.ack != null ? openMessage<any>(r.ack.bytes, { trusted: true }) : undefined
        }))
        meterLease(s.lease, prior)
      }
      // the lease's containers still use their share of the host
      inv.reservationProvider().reserve(s.lease, { groups: order.body.groups.map((g) => ({ name: g.name, resources: g.resources })) })
    } catch (err: any) {
      logger.warn({ lease: s.lease, err: String(err?.message ?? err) }, 'could not restore a saved lease')
    }
  }
  const me = toHex(identity.publicKey)
  const runtimeErrors = components.metrics?.counter('souk_runtime_errors_total', 'container runtime calls that failed, by operation')
  const leaseStates = components.metrics?.gauge('souk_provider_leases', 'leases this provider holds, by state', (g) => {
    const counts: Record<string, number> = { 'awaiting-manifest': 0, deploying: 0, running: 0, closed: 0 }
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

  const service: LeaseService = {
    authorize: (remote, req) => authorizeTenant(remote, req.lease),
    status: async (lease) => {
      const l = leases.get(toHex(lease))!
      const base = { state: l.state, sequence: l.sequence, closeReason: l.closeReason, error: l.error, lastUpdate: l.lastUpdate }
      if (l.state !== 'running') return base
      try {
        return { ...base, deployed: await runtime.status(l.leaseId) }
      } catch (err: any) {
        runtimeErrors?.inc({ op: 'status' })
        // transient (the engine restarting, say): not a failed deployment
        return { ...base, statusError: String(err?.message ?? err) }
      }
    },
    logs: (lease, o) => (async function * () {
      for await (const line of runtime.logs(toHex(lease), { follow: o.follow, tail: o.tail, service: o.service, signal: o.signal })) yield line
    })(),
    events: (lease, o) => (async function * () {
      if (!o.follow) return
      for await (const e of runtime.events(toHex(lease), { signal: o.signal })) yield { type: e.type, time: e.time, service: e.service, replica: e.replica, message: e.message }
    })(),
    close: async (lease, close) => {
      await track(leases.close(toHex(lease), close.body.reason === '' ? 'closed by the tenant' : `closed by the tenant: ${close.body.reason}`))
    }
  }

  return {
    engine,
    leases,
    inventory: inv,
    runtime,
    usage,
    explain: async (orderId) => await engine.explain(orderId),
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
      }, { isClosed: (id) => leases.get(id)?.state === 'closed' || book.lease(id)?.state === 'closed' }))
      stoppers.push(await handleExplain(net, async (orderId, remote) => {
        const order = book.order(orderId)
        if (order == null || !peerIsKey(remote, order.signer)) return undefined
        return await engine.explain(orderId)
      }))
      // leases made before a restart: keep their containers, remove strays
      try {
        const r = await leases.reconcile()
        if (r.removed.length > 0) logger.info({ removed: r.removed.length }, 'removed objects of leases this provider no longer holds')
      } catch (err: any) {
        runtimeErrors?.inc({ op: 'reconcile' })
        logger.warn({ err: String(err?.message ?? err) }, 'reconcile skipped: runtime unavailable')
      }
      usage.start()
      net.provideRole('provider').catch((err: any) => logger.debug({ err: String(err?.message ?? err) }, 'DHT announce failed; will retry'))
    },
    async stop () {
      for (const u of unsubs.splice(0)) u()
      for (const s of stoppers.splice(0)) await s().catch(() => {})
      usage.stop()
      await Promise.allSettled([...inflight])
      leases.stop()
      await engine.stop()
    }
  }
}

