// A provider inside a node: orders from gossip go to the bid engine; leases certified for this
// provider go to the lease lifecycle; manifests arrive on the manifest stream; tenants read
// status, logs and events and close on the lease stream; the role is advertised in the DHT.
// Each concern is its own file in this folder; this one composes them and runs them in order.
import { signMessage, MessageTag, toHex } from '../../wire/index.ts'
import type { SignedMessage, CloseBody } from '../../wire/index.ts'
import { Topic } from '../../net/index.ts'
import { providerLeases, MarketError } from '../../market/index.ts'
import type { BidEngine } from '../../market/index.ts'
import { errorMessage } from '../../util/index.ts'
import { RECONCILE_RETRY_MS } from './constants.ts'
import { ProviderError, ProviderErrorCode } from './errors.ts'
import { measureCapacity } from './capacity.ts'
import type { Capacity } from './capacity.ts'
import { bidding, bidAttributes, pricingFromConfig, followMarket } from './bidding.ts'
import type { BidTerms } from './bidding.ts'
import { lifecycleEvent } from './lifecycle-events.ts'
import { historyEntry, storedHistory, engineWatch } from './history.ts'
import { leaseRoutes } from './routes.ts'
import { leaseUsage } from './usage.ts'
import { savedLeases, leaseRecord, restoreLeases } from './restore.ts'
import { followCloses } from './closes.ts'
import { serveTenants } from './lease-service.ts'
import type { ProviderRole, ProviderRoleInit, ProviderRoleComponents } from './index.ts'

export function createProviderRole (init: ProviderRoleInit, components: ProviderRoleComponents): ProviderRole {
  const { identity, net, book, runtime, logger, store, metrics } = components
  const me = toHex(identity.publicKey)
  /** what the bids say and cost; a reload replaces it */
  let terms: BidTerms = { attributes: init.attributes, prices: init.prices, denom: init.denom, pricingScript: init.pricingScript }
  let capacity: Capacity | undefined
  let engine: BidEngine | undefined
  const started = (): { capacity: Capacity, engine: BidEngine } => {
    if (capacity == null || engine == null) throw new ProviderError(ProviderErrorCode.NOT_STARTED, 'the provider has not started: its capacity is measured and its bid engine made by start()')
    return { capacity, engine }
  }

  const publish = (topic: string, msg: SignedMessage): void => {
    book.record(msg)
    net.gossip.publish(topic, msg).catch((err: unknown) => logger.debug({ err: errorMessage(err) }, 'publish failed'))
  }
  // closes under way finish (and are stored) before the role stops and the store closes
  const inflight = new Set<Promise<unknown>>()
  function track<T> (p: Promise<T>): Promise<T> {
    const q = p.catch((err: unknown) => { logger.warn({ err: errorMessage(err) }, 'lease close failed') })
    inflight.add(q)
    void q.finally(() => inflight.delete(q))
    return p
  }
  const lifetime = new AbortController()

  const history = storedHistory(store)
  const watch = engineWatch({ runtime, history, logger })
  const routes = leaseRoutes(init.ingress, { runtime, store, logger, metrics, manifestOf: (id) => leases.get(id)?.manifest })
  const saved = savedLeases(store)
  const leases = providerLeases({ manifestTimeoutMs: init.manifestTimeoutMs })({
    signer: identity,
    runtime,
    save: (rec) => { saved.put(rec.lease, leaseRecord(saved, routes, rec)) },
    releaseReservation: (orderId) => { void engine?.onLeaseClosed(orderId) },
    announceClose: async (leaseId, reason) => {
      publish(Topic.LEASES, signMessage<CloseBody>(identity, MessageTag.CLOSE, { lease: Buffer.from(leaseId, 'hex'), reason }))
    },
    onEvent: (progress) => {
      const evt = lifecycleEvent(progress)
      // a tenant's deployment or update that failed is what an operator looks for first
      const failed = evt?.type === 'lease:deploy-failed' || evt?.type === 'lease:update-failed'
      logger[failed ? 'warn' : 'info']({ lease: progress.leaseId.slice(0, 12), event: progress.type, ...(failed ? { error: evt.error } : {}) }, failed ? 'lease step failed' : 'lease event')
      if (evt == null) return
      const entry = historyEntry(evt)
      if (entry != null) history.record(evt.leaseId, entry)
      watch.onLifecycle(evt)
      routes.onLifecycle(evt)
      usage.onLifecycle(evt)
    }
  })
  const close = async (leaseId: string, reason: string): Promise<void> => { await track(leases.close(leaseId, reason)) }
  const usage = leaseUsage({ intervalMs: init.usageIntervalMs, graceMs: init.usageGraceMs }, { identity, net, store, logger, lease: (id) => leases.get(id), closeLease: close })

  const runtimeErrors = metrics?.counter('souk_runtime_errors_total', 'container runtime calls that failed, by operation')
  metrics?.gauge('souk_provider_leases', 'leases this provider holds, by state', (g) => {
    const counts: Record<string, number> = { 'awaiting-manifest': 0, deploying: 0, running: 0, closing: 0, closed: 0 }
    for (const l of leases.list()) counts[l.state]++
    for (const [state, n] of Object.entries(counts)) g.set(n, { state })
  })

  /** reconcile (and what it finishes) until the runtime lets it through */
  async function reconcileUntilDone (): Promise<void> {
    while (!lifetime.signal.aborted) {
      try {
        const r = await leases.reconcile()
        if (r.removed.length > 0) logger.info({ removed: r.removed.length }, 'removed objects of leases this provider no longer holds')
        return
      } catch (err) {
        runtimeErrors?.inc({ op: 'reconcile' })
        logger.warn({ err: errorMessage(err) }, 'reconcile not finished; trying again')
      }
      await new Promise((resolve) => setTimeout(resolve, RECONCILE_RETRY_MS).unref())
    }
  }

  const undo: Array<() => void> = []
  const stoppers: Array<() => Promise<void>> = []

  return {
    get engine () { return started().engine },
    get inventory () { return started().capacity.inventory },
    history,
    ingress: () => routes.ingress(),
    leases,
    runtime,
    usage: usage.meter,
    explain: async (orderId) => {
      try {
        return await started().engine.explain(orderId.toLowerCase())
      } catch (err) {
        if (err instanceof MarketError) throw Object.assign(new Error(err.message), { code: err.code, status: 400 })
        throw err
      }
    },
    reconfigure (next) {
      const t: BidTerms = { attributes: next.attributes, prices: next.prices, denom: next.denom, pricingScript: next.pricingScript }
      engine?.reconfigure({ attributes: bidAttributes(t.attributes, capacity?.sandbox, logger), pricing: pricingFromConfig(t) })
      terms = t
    },
    async status () {
      const { capacity: cap, engine: eng } = started()
      const ing = routes.ingress()
      return {
        runtime: runtime.name,
        sandbox: await runtime.sandbox().catch((err: unknown) => ({ error: errorMessage(err) })),
        declinedStorage: cap.declinedStorage,
        // what the operator accepts although the runtime cannot hold it to size
        acceptedUnenforcedStorage: cap.acceptedUnenforcedStorage,
        attributes: bidAttributes(terms.attributes, cap.sandbox),
        capacity: cap.inventory.capacity(),
        free: cap.inventory.free(),
        reservations: eng.held(),
        ingress: ing != null ? { port: ing.port(), tlsPort: ing.tlsPort(), domain: ing.domain } : undefined,
        leases: leases.list().map((l) => ({ lease: l.leaseId, state: l.state, tenant: l.tenantPeerId, closeReason: l.closeReason, error: l.error }))
      }
    },
    async start () {
      capacity = await measureCapacity(init, { runtime, logger, gpus: components.gpus ?? (async () => []) })
      engine = bidding(terms, { identity, capacity, logger, metrics, publishBid: (bid) => { publish(Topic.BIDS, bid) } })
      await restoreLeases({ saved, leases, engine, usage, routes, logger })
      undo.push(...followMarket({ net, book, engine, logger, me, won: (order, bid) => { leases.leaseWon(order, bid) } }))
      undo.push(...followCloses({ net, book, leases, logger, me, committeeKeys: components.committeeKeys, close: (id, reason) => { void close(id, reason).catch(() => {}) }, signal: lifetime.signal }))
      stoppers.push(...await serveTenants({ net, book, leases, engine, runtime, history, routes, metrics, close }))
      await routes.start()
      for (const l of leases.list()) if (l.state === 'running') watch.watch(l.leaseId)
      // leases made before a restart: keep their containers, remove strays, finish what the
      // restart cut short (in the background: a runtime that is down is waited for)
      void track(reconcileUntilDone())
      usage.start()
      net.provideRole('provider').catch((err: unknown) => logger.debug({ err: errorMessage(err) }, 'DHT announce failed; will retry'))
    },
    async stop () {
      lifetime.abort()
      for (const u of undo.splice(0)) u()
      for (const s of stoppers.splice(0)) await s().catch(() => {})
      usage.stop()
      await Promise.allSettled([...inflight])
      watch.stop()
      await routes.stop()
      leases.stop()
      await engine?.stop()
    }
  }
}
