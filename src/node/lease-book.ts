// What every node knows about the market from gossip: orders and bids it saw, leases the
// committee certified (checked offline against the committee file), orders the committee
// declared expired (once f+1 validators said so), and closes.
//
// Anyone can send orders and bids, so everything here is bounded (market/constants.ts, BOOK_*):
// orders in all and per signer, bids per order, per provider and in bytes, bids whose order is
// not known yet (held for seconds, then dropped), leases, expiries and validators' expiry
// statements. Orders and their bids are forgotten a while after their bid deadline, which the
// wire bounds (protocols/wire.md §4.1); the losing bids go as soon as the order has an outcome.
// Each refusal is counted in souk_bound_hits_total{bound}.
import { EventEmitter } from 'node:events'
import { MessageTag, toHex } from '../wire/index.ts'
import type { SignedMessage, OrderBody, BidBody, LeaseCertificateBody, CloseBody, OrderExpiredBody } from '../wire/index.ts'
import { verifyLeaseCertificate } from '../committee/index.ts'
import type { CommitteeFile } from '../committee/index.ts'
import { Topic } from '../net/index.ts'
import type { SoukGossip } from '../net/index.ts'
import {
  BOOK_MAX_BID_BYTES, BOOK_MAX_BIDS_PER_ORDER, BOOK_MAX_BIDS_PER_PROVIDER, BOOK_MAX_EXPIRIES, BOOK_MAX_EXPIRY_VOTES,
  BOOK_MAX_LEASES, BOOK_MAX_ORDERS, BOOK_MAX_ORDERS_PER_TENANT, BOOK_MAX_PENDING_BID_BYTES, BOOK_MAX_PENDING_BIDS,
  BOOK_ORDER_RETENTION_MS, BOOK_PENDING_BID_TTL_MS, MarketMetricName
} from '../market/index.ts'

export interface LeaseRecord {
  orderId: string
  certificate: LeaseCertificateBody
  tenant: string
  provider: string
  bidId: string
  state: 'active' | 'closed'
  closeReason?: string
  closedBy?: string
  /** when this node learned of the close */
  closedAt?: number
  certifiedAt: number
}

/** what each LeaseBook event hands its listeners */
export interface LeaseBookEvents {
  order: SignedMessage<OrderBody>
  bid: SignedMessage<BidBody>
  lease: LeaseRecord
  expired: ExpiryRecord
  closed: LeaseRecord
}

export interface ExpiryRecord { orderId: string, code: string, reason: string, height: number }

export type OrderOutcome =
  | { kind: 'lease', lease: LeaseRecord }
  | { kind: 'expired', expiry: ExpiryRecord }

export interface LeaseBookInit {
  /** the committee chain, genesis first */
  committee: () => CommitteeFile[]
  /** orders remembered at most (BOOK_MAX_ORDERS; oldest forgotten first) */
  maxOrders?: number
  /** open orders (no lease or expiry yet) of one signer remembered at once (BOOK_MAX_ORDERS_PER_TENANT) */
  maxOrdersPerTenant?: number
  /** bids per order (BOOK_MAX_BIDS_PER_ORDER) */
  maxBidsPerOrder?: number
  /** bids per order and provider (BOOK_MAX_BIDS_PER_PROVIDER) */
  maxBidsPerProvider?: number
  /** bytes of bids over all orders (BOOK_MAX_BID_BYTES) */
  maxBidBytes?: number
  /** bids waiting for their order (BOOK_MAX_PENDING_BIDS, BOOK_MAX_PENDING_BID_BYTES, BOOK_PENDING_BID_TTL_MS) */
  maxPendingBids?: number
  maxPendingBidBytes?: number
  pendingBidTtlMs?: number
  /** how long after its bid deadline an order is kept (BOOK_ORDER_RETENTION_MS) */
  orderRetentionMs?: number
  maxLeases?: number
  maxExpiries?: number
  maxExpiryVotes?: number
  /** the clock (ms since the Unix epoch) */
  now?: () => number
}

export interface LeaseBookComponents {
  gossip: SoukGossip
  metrics?: { counter: (name: string, help: string) => { inc: (labels?: Record<string, string>, by?: number) => void } }
}

/** what the book holds now, against its bounds */
export interface LeaseBookStats {
  orders: number
  bids: number
  bidBytes: number
  pendingBids: number
  pendingBidBytes: number
  leases: number
  expiries: number
  expiryVotes: number
  heldCertificates: number
}

export interface LeaseBook {
  order: (orderId: string) => SignedMessage<OrderBody> | undefined
  bids: (orderId: string) => Array<SignedMessage<BidBody>>
  bid: (bidId: string) => SignedMessage<BidBody> | undefined
  lease: (orderId: string) => LeaseRecord | undefined
  leases: () => LeaseRecord[]
  /** the Close that ended a lease, as signed (served to peers that missed it: protocols/gossip.md §7.1) */
  closeOf: (orderId: string) => Uint8Array | undefined
  expiry: (orderId: string) => ExpiryRecord | undefined
  /** open orders: seen, no lease, no expiry, deadline not long past */
  openOrders: (now: number) => Array<SignedMessage<OrderBody>>
  /** records a message this node made itself (gossip does not echo own messages); exempt from the per-signer bounds */
  record: (msg: SignedMessage) => void
  /**
   * the envelopes that decided recent orders, as signed, newest first: each lease's certificate
   * and the f+1 statements of each expiry, created after `since` (for the leases topic's sync,
   * so a node that was away learns its orders' outcomes)
   */
  outcomeMessages: (since: number, limit: number) => Uint8Array[]
  /** resolves with the order's lease or expiry */
  outcome: (orderId: string, opts?: { signal?: AbortSignal }) => Promise<OrderOutcome>
  /** what happened to the book: an order, a bid, a lease certified, an order expired, a lease closed */
  on: <K extends keyof LeaseBookEvents>(event: K, fn: (x: LeaseBookEvents[K]) => void) => () => void
  rejected: () => number
  /** the committee chain grew: certificates held for its new epoch are checked now */
  committeeChanged: () => void
  stats: () => LeaseBookStats
}

/** certificates of an epoch this node has no committee file for yet, held until the chain
 * announcement arrives (gossip gives no order between topics' messages) */
const MAX_HELD_CERTIFICATES = 1_000
/** the book forgets old orders at most this often */
const SWEEP_INTERVAL_MS = 5_000

interface OrderEntry {
  msg: SignedMessage<OrderBody>
  bids: Array<SignedMessage<BidBody>>
  /** signer hex → bids of that provider */
  byProvider: Map<string, number>
  /** holds one of its signer's open-order slots: from arrival until its outcome or until forgotten */
  open: boolean
}

/** a bid waiting for its order, with that order's ID in hex (compared on every order that arrives) */
interface Pending { msg: SignedMessage<BidBody>, order: string, at: number }

export function leaseBook (init: LeaseBookInit): (components: LeaseBookComponents) => LeaseBook {
  return ({ gossip, metrics }) => {
    const now = init.now ?? Date.now
    const maxOrders = init.maxOrders ?? BOOK_MAX_ORDERS
    const maxPerTenant = init.maxOrdersPerTenant ?? BOOK_MAX_ORDERS_PER_TENANT
    const maxBidsPerOrder = init.maxBidsPerOrder ?? BOOK_MAX_BIDS_PER_ORDER
    const maxBidsPerProvider = init.maxBidsPerProvider ?? BOOK_MAX_BIDS_PER_PROVIDER
    const maxBidBytes = init.maxBidBytes ?? BOOK_MAX_BID_BYTES
    const maxPending = init.maxPendingBids ?? BOOK_MAX_PENDING_BIDS
    const maxPendingBytes = init.maxPendingBidBytes ?? BOOK_MAX_PENDING_BID_BYTES
    const pendingTtl = init.pendingBidTtlMs ?? BOOK_PENDING_BID_TTL_MS
    const retention = init.orderRetentionMs ?? BOOK_ORDER_RETENTION_MS
    const maxLeases = init.maxLeases ?? BOOK_MAX_LEASES
    const maxExpiries = init.maxExpiries ?? BOOK_MAX_EXPIRIES
    const maxExpiryVotes = init.maxExpiryVotes ?? BOOK_MAX_EXPIRY_VOTES

    const orders = new Map<string, OrderEntry>()
    // orders of others with their outcome, oldest first: forgotten before any open order when the
    // book is full, so orders a stranger gets decided at once (deadline-too-far) cannot push out
    // the open orders providers bid on
    const decided = new Set<string>()
    const ordersBySigner = new Map<string, number>()
    const bidsById = new Map<string, SignedMessage<BidBody>>()
    let bidBytes = 0
    // bids whose order is not known (yet), oldest first
    const pending = new Map<string, Pending>()
    let pendingBytes = 0
    const leases = new Map<string, LeaseRecord>()
    // the envelope of each lease's Close: it goes with its record when the record is forgotten
    const closeEnvelopes = new WeakMap<LeaseRecord, Uint8Array>()
    const expiries = new Map<string, ExpiryRecord>()
    const expiryVotes = new Map<string, Map<string, SignedMessage<OrderExpiredBody>>>()
    /** what decided each lease and expiry the book holds, as signed (kept with them, dropped with them) */
    const decidedBy = new Map<string, Array<SignedMessage<LeaseCertificateBody | OrderExpiredBody>>>()
    const ee = new EventEmitter()
    ee.setMaxListeners(0)
    let rejected = 0
    let lastSweep = 0
    const bounds = metrics?.counter(MarketMetricName.BOUND_HIT, 'times a bound on what strangers may add refused something, by bound')
    const bound = (name: string): void => { bounds?.inc({ bound: name }) }

    const committeeForEpoch = (epoch: number): CommitteeFile | undefined => init.committee().find((f) => f.info.epoch === epoch)
    const latest = (): CommitteeFile | undefined => init.committee().at(-1)
    const held = new Map<string, SignedMessage<LeaseCertificateBody>>()

    function dropBid (m: SignedMessage<BidBody>): void {
      if (bidsById.delete(m.idHex)) bidBytes -= m.bytes.length
    }

    /** the order has its outcome (or is forgotten): it no longer counts against its signer's bound */
    function release (e: OrderEntry): void {
      if (!e.open) return
      e.open = false
      decided.add(e.msg.idHex)
      const k = toHex(e.msg.signer)
      const n = (ordersBySigner.get(k) ?? 1) - 1
      if (n > 0) ordersBySigner.set(k, n)
      else ordersBySigner.delete(k)
    }

    function forgetOrder (id: string): void {
      const e = orders.get(id)
      if (e == null) return
      orders.delete(id)
      release(e)
      decided.delete(id)
      for (const b of e.bids) dropBid(b)
    }

    /** keeps only the bid that won (if any) once an order has its outcome */
    function settle (id: string, winner?: string): void {
      const e = orders.get(id)
      if (e == null) return
      release(e)
      const keep = e.bids.filter((b) => b.idHex === winner)
      for (const b of e.bids) if (b.idHex !== winner) dropBid(b)
      e.bids = keep
      e.byProvider.clear()
    }

    function sweep (t: number): void {
      if (t - lastSweep < SWEEP_INTERVAL_MS) return
      lastSweep = t
      for (const [id, e] of orders) {
        if (e.msg.body.bidDeadline < t - retention) forgetOrder(id)
      }
      for (const [id, p] of pending) {
        if (p.at >= t - pendingTtl) break // oldest first
        unpend(id, p)
      }
    }

    function onOrder (m: SignedMessage<OrderBody>, local: boolean): void {
      const t = now()
      sweep(t)
      if (orders.has(m.idHex)) return
      // an order past its retention would be forgotten at the next sweep: not worth holding
      if (m.body.bidDeadline < t - retention) return
      const signer = toHex(m.signer)
      // the bound is on open orders: one with its outcome already known (its certificate can come
      // first) takes no slot, and a slot is given back when the outcome comes
      const open = !local && !leases.has(m.idHex) && !expiries.has(m.idHex)
      if (open) {
        const n = ordersBySigner.get(signer) ?? 0
        if (n >= maxPerTenant) { bound('book-orders-per-tenant'); return }
        ordersBySigner.set(signer, n + 1)
      }
      orders.set(m.idHex, { msg: m, bids: [], byProvider: new Map(), open })
      while (orders.size > maxOrders) {
        bound('book-orders')
        forgetOrder(decided.size > 0 ? decided.values().next().value as string : orders.keys().next().value as string)
      }
      ee.emit('order', m)
      // bids that arrived before their order
      if (pending.size === 0) return
      const waiting: Pending[] = []
      for (const p of pending.values()) if (p.order === m.idHex) waiting.push(p)
      for (const p of waiting) {
        unpend(p.msg.idHex, p)
        onBid(p.msg)
      }
    }

    function unpend (id: string, p: Pending): void {
      pending.delete(id)
      pendingBytes -= p.msg.bytes.length
    }

    function holdPending (m: SignedMessage<BidBody>, order: string): void {
      if (pending.has(m.idHex)) return
      const size = m.bytes.length
      if (size > maxPendingBytes) { bound('book-pending-bids'); return }
      // oldest out first: honest bids wait for their order for seconds at most
      while (pending.size >= maxPending || pendingBytes + size > maxPendingBytes) {
        const [id, p] = pending.entries().next().value as [string, Pending]
        unpend(id, p)
        bound('book-pending-bids')
      }
      pending.set(m.idHex, { msg: m, order, at: now() })
      pendingBytes += size
    }

    function onBid (m: SignedMessage<BidBody>): void {
      sweep(now())
      if (bidsById.has(m.idHex)) return
      const orderId = toHex(m.body.order)
      const e = orders.get(orderId)
      const lease = leases.get(orderId)
      if (e == null) {
        // a bid for an order with an outcome matters only when it is the winner this node lacks
        if (expiries.has(orderId) || (lease != null && lease.bidId !== m.idHex)) return
        holdPending(m, orderId)
        return
      }
      if (expiries.has(orderId) || (lease != null && lease.bidId !== m.idHex)) return
      if (e.bids.length >= maxBidsPerOrder) { bound('book-bids-per-order'); return }
      const provider = toHex(m.signer)
      const mine = e.byProvider.get(provider) ?? 0
      if (mine >= maxBidsPerProvider) { bound('book-bids-per-provider'); return }
      if (bidBytes + m.bytes.length > maxBidBytes) { bound('book-bid-bytes'); return }
      e.byProvider.set(provider, mine + 1)
      e.bids.push(m)
      bidsById.set(m.idHex, m)
      bidBytes += m.bytes.length
      ee.emit('bid', m)
    }

    function onCertificate (m: SignedMessage<LeaseCertificateBody>): void {
      const cert = m.body
      const orderId = toHex(cert.order)
      if (leases.has(orderId)) return
      const file = committeeForEpoch(cert.epoch)
      if (file == null) {
        // a later epoch than the chain this node holds: keep it for when the chain arrives
        if (cert.epoch > (latest()?.info.epoch ?? -1) && !held.has(orderId)) {
          held.set(orderId, m)
          if (held.size > MAX_HELD_CERTIFICATES) held.delete(held.keys().next().value as string)
        } else rejected++
        return
      }
      held.delete(orderId)
      const verdict = verifyLeaseCertificate(cert, file)
      if (!verdict.ok) { rejected++; return }
      const rec: LeaseRecord = {
        orderId,
        certificate: cert,
        tenant: toHex(cert.tenant),
        provider: toHex(cert.provider),
        bidId: toHex(cert.bid),
        state: 'active',
        certifiedAt: now()
      }
      leases.set(orderId, rec)
      decidedBy.set(orderId, [m])
      while (leases.size > maxLeases) {
        bound('book-leases')
        let victim: string | undefined
        for (const [id, l] of leases) if (l.state === 'closed') { victim = id; break }
        victim ??= leases.keys().next().value as string
        leases.delete(victim)
        decidedBy.delete(victim)
      }
      settle(orderId, rec.bidId)
      expiryVotes.delete(orderId)
      // the winner, if it waited for its order
      const w = pending.get(rec.bidId)
      if (w != null && orders.has(orderId)) { unpend(rec.bidId, w); onBid(w.msg) }
      ee.emit('lease', rec)
      ee.emit(`outcome:${orderId}`, { kind: 'lease', lease: rec })
    }

    function onExpired (m: SignedMessage<OrderExpiredBody>): void {
      const orderId = toHex(m.body.order)
      if (expiries.has(orderId) || leases.has(orderId)) return
      const file = latest()
      if (file == null) return
      const member = file.info.validators.some((v: Uint8Array) => toHex(v) === toHex(m.signer))
      if (!member) { rejected++; return }
      let votes = expiryVotes.get(orderId)
      if (votes == null) {
        votes = new Map<string, SignedMessage<OrderExpiredBody>>()
        expiryVotes.set(orderId, votes)
        while (expiryVotes.size > maxExpiryVotes) {
          bound('book-expiry-votes')
          expiryVotes.delete(expiryVotes.keys().next().value as string)
        }
      }
      votes.set(toHex(m.signer), m)
      const f = Math.floor((file.info.validators.length - 1) / 3)
      if (votes.size < f + 1) return
      expiryVotes.delete(orderId)
      const rec: ExpiryRecord = { orderId, code: m.body.code, reason: m.body.reason, height: m.body.height }
      expiries.set(orderId, rec)
      decidedBy.set(orderId, [...votes.values()])
      while (expiries.size > maxExpiries) {
        bound('book-expiries')
        const victim = expiries.keys().next().value as string
        expiries.delete(victim)
        decidedBy.delete(victim)
      }
      settle(orderId)
      ee.emit('expired', rec)
      ee.emit(`outcome:${orderId}`, { kind: 'expired', expiry: rec })
    }

    function onClose (m: SignedMessage<CloseBody>): void {
      const rec = leases.get(toHex(m.body.lease))
      if (rec == null || rec.state === 'closed') return
      const signer = toHex(m.signer)
      if (signer !== rec.tenant && signer !== rec.provider) { rejected++; return }
      rec.state = 'closed'
      rec.closeReason = m.body.reason
      rec.closedBy = signer === rec.tenant ? 'tenant' : 'provider'
      rec.closedAt = now()
      closeEnvelopes.set(rec, m.bytes)
      ee.emit('closed', rec)
    }

    function route (m: SignedMessage, local: boolean): void {
      switch (m.tag) {
        case MessageTag.ORDER: onOrder(m as SignedMessage<OrderBody>, local); break
        case MessageTag.BID: onBid(m as SignedMessage<BidBody>); break
        case MessageTag.LEASE_CERTIFICATE: onCertificate(m as SignedMessage<LeaseCertificateBody>); break
        case MessageTag.ORDER_EXPIRED: onExpired(m as SignedMessage<OrderExpiredBody>); break
        case MessageTag.CLOSE: onClose(m as SignedMessage<CloseBody>); break
        default: break
      }
    }

    for (const t of [Topic.ORDERS, Topic.BIDS, Topic.LEASES]) gossip.onMessage(t, (m) => route(m, false))

    const book: LeaseBook = {
      order: (id) => orders.get(id)?.msg,
      bids: (id) => [...(orders.get(id)?.bids ?? [])],
      bid: (id) => bidsById.get(id),
      lease: (id) => leases.get(id),
      leases: () => [...leases.values()],
      closeOf: (id) => { const rec = leases.get(id); return rec != null ? closeEnvelopes.get(rec) : undefined },
      expiry: (id) => expiries.get(id),
      openOrders: (t) => {
        const out: Array<SignedMessage<OrderBody>> = []
        for (const [id, e] of orders) {
          if (!leases.has(id) && !expiries.has(id) && e.msg.body.bidDeadline > t - 60_000) out.push(e.msg)
        }
        return out
      },
      record: (m) => route(m, true),
      outcomeMessages (since, limit) {
        const out: Uint8Array[] = []
        for (const ms of [...decidedBy.values()].reverse()) {
          if (out.length >= limit) break
          for (const x of ms) if (x.createdAt >= since && out.length < limit) out.push(x.bytes)
        }
        return out
      },
      rejected: () => rejected,
      committeeChanged () {
        const top = latest()?.info.epoch ?? -1
        for (const [orderId, m] of [...held]) {
          if (m.body.epoch > top) continue
          held.delete(orderId)
          onCertificate(m)
        }
      },
      stats: () => ({
        orders: orders.size,
        bids: bidsById.size,
        bidBytes,
        pendingBids: pending.size,
        pendingBidBytes: pendingBytes,
        leases: leases.size,
        expiries: expiries.size,
        expiryVotes: expiryVotes.size,
        heldCertificates: held.size
      }),
      on (event, fn) { ee.on(event, fn as (x: unknown) => void); return () => { ee.off(event, fn as (x: unknown) => void) } },
      outcome (orderId, opts = {}) {
        const l = leases.get(orderId)
        if (l != null) return Promise.resolve({ kind: 'lease', lease: l })
        const e = expiries.get(orderId)
        if (e != null) return Promise.resolve({ kind: 'expired', expiry: e })
        if (opts.signal?.aborted === true) return Promise.reject(opts.signal.reason)
        return new Promise((resolve, reject) => {
          const key = `outcome:${orderId}`
          const done = (o: OrderOutcome): void => { opts.signal?.removeEventListener('abort', abort); resolve(o) }
          const abort = (): void => { ee.off(key, done); reject(opts.signal?.reason ?? new Error('aborted')) }
          ee.once(key, done)
          opts.signal?.addEventListener('abort', abort, { once: true })
        })
      }
    }
    return book
  }
}
