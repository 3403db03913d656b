// The tenant's deployments: in memory for lookups, each change written whole to the node's store
// before anything it promises is sent, so a restarted node knows what it had.
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Store } from '../../store/index.ts'
import { records } from '../records.ts'
import { DeployError, DeployErrorCode } from '../errors.ts'
import { SEEN_SAVE_INTERVAL_MS, TENANT_RECORD } from './constants.ts'
import type { Deployment, ServiceView } from './index.ts'

/** what a caller sees of a deployment: without the envelopes and the file it keeps for itself */
export type DeploymentView = Omit<Deployment, 'orderBytes' | 'manifest' | 'close' | 'source'>

/** a closed lease serves nothing: its services are listed without the URLs they had */
export const closedServices = (services: ServiceView[] | undefined): ServiceView[] | undefined => services?.map((x) => ({ ...x, ready: 0, urls: [] }))

export class Deployments {
  private readonly saved
  private readonly live: Map<string, Deployment>

  constructor (store: Store) {
    this.saved = records<Deployment>(store, TENANT_RECORD)
    this.live = new Map(this.saved.list().map((d) => [d.order, d]))
  }

  save (d: Deployment): void {
    this.live.set(d.order, d)
    this.saved.put(d.order, d)
  }

  get (order: string): Deployment | undefined { return this.live.get(order) }

  all (): Deployment[] { return [...this.live.values()] }

  /** by order ID or a unique prefix of one */
  find (order: string): Deployment {
    const id = order.toLowerCase()
    const exact = this.live.get(id)
    if (exact != null) return exact
    const matches = id === '' ? [] : this.all().filter((x) => x.order.startsWith(id))
    if (matches.length > 1) throw new DeployError('ERR_AMBIGUOUS_ID', `${matches.length} leases begin with ${order}; give more digits (${matches.map((m) => m.order.slice(0, 16)).join(', ')})`)
    if (matches.length === 0) throw new DeployError(DeployErrorCode.UNKNOWN_DEPLOYMENT, `no deployment ${order} on this node`)
    return matches[0]
  }

  markClosed (d: Deployment, reason: string | undefined): void {
    d.state = 'closed'
    delete d.close
    if (reason != null) d.reason = reason
    d.services = closedServices(d.services)
    this.save(d)
  }

  /** the provider answered: remember when, for the error that names it if it stops answering */
  heard (d: Deployment): void {
    const now = Date.now()
    const before = d.providerSeenAt
    d.providerSeenAt = now
    if (before == null || now - before > SEEN_SAVE_INTERVAL_MS) this.save(d)
  }
}

export function viewOf (d: Deployment): DeploymentView {
  const { orderBytes: _o, manifest: _m, close: _c, source: _s, ...rest } = d
  return rest
}

export function providerOf (d: Deployment): PeerId {
  if (d.provider == null) throw new DeployError(DeployErrorCode.NO_LEASE, `deployment ${d.order.slice(0, 12)} has no lease (${d.state})`)
  return peerIdFromString(d.provider)
}
