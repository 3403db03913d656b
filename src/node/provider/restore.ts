// Leases held before a restart, from their saved records: taken up again by the lease machinery
// (reconcile then finishes what the restart cut short), metered again when they ran, their
// capacity held again in the bid engine, their hostnames routed again.
import { openMessage, MessageTag } from '../../wire/index.ts'
import type { OrderBody, BidBody } from '../../wire/index.ts'
import type { BidEngine, ProviderLeases, SavedProviderLease } from '../../market/index.ts'
import type { IngressRoute } from '../../runtime/ingress/index.ts'
import { peerIdOfPublicKey } from '../../identity/index.ts'
import type { Store } from '../../store/index.ts'
import { errorMessage } from '../../util/index.ts'
import { records } from '../records.ts'
import type { Records } from '../records.ts'
import type { Logger } from '../logger.ts'
import { RECORD_LEASE } from './constants.ts'
import type { LeaseRoutes } from './routes.ts'
import type { LeaseUsage } from './usage.ts'

/**
 * what survives a provider restart: the lease's own record (market/provider-leases.ts: enough to
 * re-adopt its containers and finish a deploy, update or close cut short) and its hostnames
 */
export type SavedLease = SavedProviderLease & { routes?: IngressRoute[] }

export function savedLeases (store: Store): Records<SavedLease> {
  return records<SavedLease>(store, RECORD_LEASE)
}

/** the lease's record, with the hostnames it has (a lease restored has none in memory until they are applied: they carry over) */
export function leaseRecord (saved: Records<SavedLease>, routes: LeaseRoutes, rec: SavedProviderLease): SavedLease {
  const r = routes.routesOf(rec.lease) ?? saved.get(rec.lease)?.routes
  return { ...rec, ...(r != null && rec.state !== 'closed' ? { routes: r } : {}) }
}

export interface RestoreComponents {
  saved: Records<SavedLease>
  leases: ProviderLeases
  engine: BidEngine
  usage: LeaseUsage
  routes: LeaseRoutes
  logger: Logger
}

export async function restoreLeases (c: RestoreComponents): Promise<void> {
  const { leases, engine, logger } = c
  for (const s of c.saved.list()) {
    if (s.state === 'closed') continue
    try {
      // their bytes were verified when first received
      const order = openMessage<OrderBody>(s.order, { trusted: true, expect: MessageTag.ORDER })
      const bid = openMessage<BidBody>(s.bid, { trusted: true, expect: MessageTag.BID })
      leases.restore(order, bid, s)
      // a lease cut short while deploying is metered once it runs
      if (s.state === 'running') c.usage.resume(s.lease)
      // the lease's containers still use their share of the host; held by the engine as won, so closing gives it back
      const held = await engine.adopt(s.lease, peerIdOfPublicKey(order.signer), { order: s.lease, groups: order.body.groups.map((g) => ({ name: g.name, resources: g.resources })) })
      if (!held.ok) logger.warn({ lease: s.lease.slice(0, 12), why: held.message }, 'an adopted lease does not fit the capacity now configured; it keeps running')
      if (s.routes != null) c.routes.restore(s.lease, s.routes)
    } catch (err) {
      logger.warn({ lease: s.lease, err: errorMessage(err) }, 'could not restore a saved lease')
    }
  }
}
