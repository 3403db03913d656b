// What the provider's bid engine is given and what it offers; the engine is in bid-engine.ts.
import type { AuditorAttestation, BidBody, OrderBody, SignedMessage, Signer } from '../wire/index.ts'
import type { Clock } from './clock.ts'
import type { Decision, DecisionStore } from './decisions.ts'
import type { PriceTableConfig } from './pricing/price-table.ts'
import type { ScriptPricingInit } from './pricing/script.ts'
import type { PricingStrategy } from './pricing/strategy.ts'
import type { ReservationDemand, ReservationProvider, ReserveResult } from './reservations.ts'

export type PricingConfig = { table: PriceTableConfig } | { script: ScriptPricingInit }

/**
 * What a running engine may be given anew (a reload of the provider's settings). Omitted fields
 * keep their value; attestations are checked again over the new attributes.
 */
export interface BidTermsUpdate {
  attributes?: Record<string, string>
  attestations?: AuditorAttestation[]
  pricing?: PricingConfig | PricingStrategy
}

export interface BidEngineInit {
  /** the provider's attributes, sent in every bid and matched against orders exactly */
  attributes: Record<string, string>
  /** auditors' signatures over `attributes` and this provider's key; checked at start */
  attestations?: AuditorAttestation[]
  /** a price table, a pricing script, or any PricingStrategy */
  pricing: PricingConfig | PricingStrategy
  /** how long after the order's bid deadline a bid stands, ms */
  bidValidityMs?: number
  /** orders whose deadline is further away get no bid, ms */
  maxBidWindowMs?: number
  /** reservations held at once for open bids */
  maxConcurrentReservations?: number
  /** reservations held at once for open bids on one tenant's orders */
  maxReservationsPerTenant?: number
  /** decisions kept in memory when no store is given */
  maxDecisions?: number
}

export type Labels = Record<string, string>
export interface MarketMetrics {
  counter: (name: string, help: string) => { inc: (labels?: Labels, by?: number) => void }
}

export interface BidEngineComponents {
  /** the provider's key: signs bids */
  identity: Signer
  reservations: ReservationProvider
  clock?: Clock
  /** sends a signed bid to the network */
  publishBid: (signed: SignedMessage<BidBody>) => void | Promise<void>
  store?: DecisionStore
  metrics?: MarketMetrics
}

export interface MarketProgressEvent { type: string, detail?: unknown }

export interface HandleOrderOptions {
  signal?: AbortSignal
  /** `market:order:checked`, `market:order:priced`, `market:order:reserved`, `market:bid:published`, `market:order:declined`, plus the pricing strategy's events */
  onProgress?: (evt: MarketProgressEvent) => void
  /** answer what the engine would do: nothing is reserved, recorded, signed or published */
  dryRun?: boolean
}

export interface HeldReservation {
  order: string
  state: 'open' | 'won'
  expiresAt: number
}

export interface BidEngine {
  /** decides on an order (already opened and verified by the caller) and bids if it can */
  handleOrder: (order: SignedMessage<OrderBody>, opts?: HandleOrderOptions) => Promise<Decision>
  /** what was decided about an order, and why; a unique prefix of at least 8 hex digits finds it too */
  explain: (orderId: string | Uint8Array) => Promise<Decision | undefined>
  /** what the engine would decide about an order not (yet) published: every reason, or the prices it would bid */
  evaluate: (order: SignedMessage<OrderBody>, opts?: { signal?: AbortSignal }) => Promise<Decision>
  /**
   * A lease this provider held before a restart: its capacity is held again, as won, so that
   * closing it gives the capacity back. Answers whether the capacity was there.
   */
  adopt: (orderId: string, tenant: string, demand: ReservationDemand) => Promise<ReserveResult>
  /** the committee chose another bid: capacity goes back */
  onBidLost: (orderId: string | Uint8Array) => Promise<void>
  /**
   * This bid won: the reservation now belongs to the lease and its expiry is cancelled. If the
   * bid had already expired, capacity is reserved again; the answer says whether that worked.
   */
  onLeaseWon: (orderId: string | Uint8Array) => Promise<ReserveResult>
  /** the lease ended: capacity goes back */
  onLeaseClosed: (orderId: string | Uint8Array) => Promise<void>
  /** reservations this engine holds now */
  held: () => HeldReservation[]
  /**
   * New attributes, attestations and prices, all at once or none: everything is checked before
   * anything changes, and a bad update throws a MarketError naming the field. Bids already sent
   * stand as signed; an order being decided finishes on the terms it started with, and the next
   * order gets the new ones.
   */
  reconfigure: (update: BidTermsUpdate) => void
  /** the attributes bids carry now */
  attributes: () => Record<string, string>
  /** releases every open bid's reservation and cancels timers; won leases stay held */
  stop: () => Promise<void>
}
