// The bid engine's wiring: orders from gossip are decided (bid or declined, with reasons), the
// committee's leases and expiries tell the engine which bids won and which are lost.
import { MessageTag } from '../../wire/index.ts'
import type { SignedMessage, OrderBody, BidBody } from '../../wire/index.ts'
import { Topic } from '../../net/index.ts'
import type { SoukNode } from '../../net/index.ts'
import { bidEngine, memoryDecisionStore, formatDecision } from '../../market/index.ts'
import type { BidEngine, PricingConfig, ReservationProvider } from '../../market/index.ts'
import type { SandboxReport } from '../../runtime/index.ts'
import type { Identity } from '../../identity/index.ts'
import type { MetricsRegistry } from '../../api/index.ts'
import type { SoukConfig } from '../../config/index.ts'
import { errorMessage } from '../../util/index.ts'
import type { LeaseBook, LeaseRecord, ExpiryRecord } from '../lease-book.ts'
import type { Logger } from '../logger.ts'
import { capacityReasons } from './capacity.ts'
import type { Capacity } from './capacity.ts'

/** what a bid says and costs: the part of the provider's settings a reload may change */
export type BidTerms = Pick<SoukConfig['provider'], 'attributes' | 'prices' | 'denom' | 'pricingScript'>

export function pricingFromConfig (p: BidTerms): PricingConfig {
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

export interface BiddingComponents {
  identity: Identity
  capacity: Capacity
  logger: Logger
  metrics?: MetricsRegistry
  /** records a signed bid in the lease book and gossips it */
  publishBid: (bid: SignedMessage) => void
}

/** the engine, bidding from the inventory's free capacity at the given terms */
export function bidding (terms: BidTerms, components: BiddingComponents): BidEngine {
  const { capacity, logger } = components
  const inv = capacity.inventory
  const reservations: ReservationProvider = { ...inv.reservationProvider(), check: (demand) => capacityReasons(inv, demand) }
  return bidEngine({ attributes: bidAttributes(terms.attributes, capacity.sandbox, logger), pricing: pricingFromConfig(terms) })({
    identity: components.identity,
    reservations,
    store: memoryDecisionStore(),
    metrics: components.metrics,
    publishBid: (bid) => { components.publishBid(bid) }
  })
}

export interface OutcomeComponents {
  net: SoukNode
  book: LeaseBook
  engine: BidEngine
  logger: Logger
  /** this provider's key, hex */
  me: string
  /** a lease won: its lifecycle starts */
  won: (order: SignedMessage<OrderBody>, bid: SignedMessage<BidBody>) => void
}

/** orders to the engine, outcomes back to it; returns what undoes the subscriptions */
export function followMarket (c: OutcomeComponents): Array<() => void> {
  const { engine, book, logger } = c
  function onLease (rec: LeaseRecord): void {
    const order = book.order(rec.orderId)
    if (rec.provider !== c.me) {
      if (order != null) void engine.onBidLost(rec.orderId)
      return
    }
    const bid = book.bid(rec.bidId)
    if (order == null || bid == null) {
      logger.warn({ lease: rec.orderId }, 'won a lease whose order or bid this node never saw')
      return
    }
    void engine.onLeaseWon(rec.orderId)
    c.won(order, bid)
  }
  return [
    c.net.gossip.onMessage(Topic.ORDERS, (m) => {
      if (m.tag !== MessageTag.ORDER) return
      // once every handler of this message has run: an order this node's book refused (its
      // signer's open-order bound) is not bid on, since a lease won on it could not be followed
      queueMicrotask(() => {
        if (book.order(m.idHex) == null) {
          logger.debug({ order: m.idHex.slice(0, 12) }, 'order not bid on: this node does not keep it')
          return
        }
        void engine.handleOrder(m as SignedMessage<OrderBody>).then((d) => {
          logger.info({ order: d.order.slice(0, 12), decision: formatDecision(d) }, 'order decided')
        }).catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'bid engine failed'))
      })
    }),
    book.on('lease', onLease),
    book.on('expired', (e: ExpiryRecord) => { void engine.onBidLost(e.orderId) })
  ]
}
