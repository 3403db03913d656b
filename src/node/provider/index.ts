// The provider role as a service: `providerRole(init)(components)`, started and stopped by the
// node (create-node.ts). `init` is the provider's own settings; components are what it runs on.
import type { BidEngine, Decision, LeaseHistory, ProviderLeases, UsageMeter } from '../../market/index.ts'
import type { ContainerRuntime, GpuDevice, Inventory } from '../../runtime/index.ts'
import type { Ingress } from '../../runtime/ingress/index.ts'
import type { SoukNode } from '../../net/index.ts'
import type { Identity } from '../../identity/index.ts'
import type { Store } from '../../store/index.ts'
import type { MetricsRegistry } from '../../api/index.ts'
import type { SoukConfig } from '../../config/index.ts'
import type { LeaseBook } from '../lease-book.ts'
import type { Logger } from '../logger.ts'
import type { BidTerms } from './bidding.ts'
import type { IngressPlan } from './routes.ts'
import { createProviderRole } from './provider.ts'

export interface ProviderRole {
  /** the bid engine (from start on) */
  readonly engine: BidEngine
  /** each lease's lifecycle, from the committee's decision to the close */
  readonly history: LeaseHistory
  /** the HTTP ingress, when it runs */
  readonly ingress: () => Ingress | undefined
  readonly leases: ProviderLeases
  /** what this provider offers and holds (from start on) */
  readonly inventory: Inventory
  readonly runtime: ContainerRuntime
  readonly usage: UsageMeter
  /** an order ID or a unique prefix of one */
  explain: (orderId: string) => Promise<Decision | undefined>
  status: () => Promise<Record<string, unknown>>
  /** new prices and attributes for the next bids (a reload); a bad set throws and changes nothing */
  reconfigure: (next: BidTerms) => void
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** the provider's settings (souk.yaml `provider`), with what the node resolved for it */
export interface ProviderRoleInit extends Pick<SoukConfig['provider'],
'cpu' | 'memory' | 'storage' | 'cpuOvercommit' | 'memoryOvercommit' | 'manifestTimeoutMs' | 'usageIntervalMs' | 'usageGraceMs' | 'attributes' | 'prices' | 'denom' | 'pricingScript'> {
  /** the node home: the disk it is on is the storage offered */
  home: string
  /** storage the runtime cannot hold to size is bid on anyway (provider.sandbox.unenforcedStorage) */
  acceptUnenforcedStorage: boolean
  /** the HTTP ingress to run, or why it is off */
  ingress: IngressPlan
}

export interface ProviderRoleComponents {
  identity: Identity
  net: SoukNode
  book: LeaseBook
  runtime: ContainerRuntime
  logger: Logger
  store: Store
  metrics?: MetricsRegistry
  /** the validators of the latest epoch (keys): asked for the Closes this provider missed */
  committeeKeys?: () => Uint8Array[]
  /** the GPUs to offer (none without it) */
  gpus?: () => Promise<GpuDevice[]>
}

export function providerRole (init: ProviderRoleInit): (components: ProviderRoleComponents) => ProviderRole {
  return (components) => createProviderRole(init, components)
}

export { providerRoleInit } from './init.ts'
export { capacityReasons } from './capacity.ts'
export { pricingFromConfig, bidAttributes } from './bidding.ts'
export type { BidTerms } from './bidding.ts'
export { historyEntry } from './history.ts'
export { lifecycleEvent } from './lifecycle-events.ts'
export type { LifecycleEvent, RuntimeStep, ServiceCount } from './lifecycle-events.ts'
export type { IngressPlan } from './routes.ts'
export type { SavedLease } from './restore.ts'
export { ProviderError, ProviderErrorCode } from './errors.ts'
