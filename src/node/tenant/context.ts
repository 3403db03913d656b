// What the tenant's parts share: its settings, the node's pieces, the deployments, and the
// work running in the background until the node stops.
import type { SoukNode } from '../../net/index.ts'
import type { Identity } from '../../identity/index.ts'
import type { LeaseBook } from '../lease-book.ts'
import type { Logger } from '../logger.ts'
import type { Deployments } from './deployments.ts'
import type { OrderSlots } from './order-slots.ts'
import type { Deployment, TenantRoleInit } from './index.ts'

export interface TenantContext {
  init: TenantRoleInit
  identity: Identity
  net: SoukNode
  book: LeaseBook
  logger: Logger
  deployments: Deployments
  /** this node's own open orders, at most as many as providers hold of one tenant (order-slots.ts) */
  orderSlots: OrderSlots
  /** aborted when the node stops: ends the work resumed or left running in the background */
  stopping: AbortSignal
  /** runs `p` until the node stops; a failure is logged against the deployment, not thrown */
  background: (what: string, d: Deployment, p: Promise<unknown>) => void
}
