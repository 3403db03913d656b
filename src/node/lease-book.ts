// What every node knows about the market from gossip: orders and bids it saw, leases the
// committee certified (checked offline against the committee file), orders the committee
// declared expired (once f+1 validators said so), and closes.
import { EventEmitter } from 'node:events'
import { MessageTag, toHex } from '../wire/index.ts'
import type { SignedMessage, OrderBody, BidBody, LeaseCertificateBody, CloseBody, OrderExpiredBody } from '../wire/index.ts'
import { verifyLeaseCertificate } from '../committee/index.ts'
import type { CommitteeFile } from '../committee/index.ts'
import { Topic } from '../net/index.ts'
import type { SoukGossip } from '../net/index.ts'

export interface LeaseRecord {
  orderId: string
  certificate: LeaseCertificateBody
  tenant: string
  provider: string
  bidId: string
  state: 'active' | 'closed'
  closeReason?: string
  closedBy?: string
  certifiedAt: number
}

export interface ExpiryRecord { orderId: string, code: string, reason: string, height: number }

export type OrderOutcome =
  | { kind: 'lease', lease: LeaseRecord }
  | { kind: 'expired', expiry: ExpiryRecord }

export interface LeaseBookInit {
  /** the committee chain, genesis first */
  committee: () => CommitteeFile[]
  /** orders and bids remembered at most (oldest forgotten first) */
  maxOrders?: number
}

export interface LeaseBook {
  order: (orderId: string) => SignedMessage<OrderBody> | undefined
  bids: (orderId: string) => Array<SignedMessage<BidBody>>
  bid: (bidId: string) => SignedMessage<BidBody> | undefined
  lease: (orderId: string) => LeaseRecord | undefined
  leases: () => LeaseRecord[]
  expiry: (orderId: string) => ExpiryRecord | undefined
  /** open orders: seen, no lease, no expiry, deadline not long past */
  openOrders: (now: number) => Array<SignedMessage<OrderBody>>
  /** records a message this node made itself (gossip does not echo own messages) */
  record: (msg: SignedMessage) => void
  /** resolves with the order's lease or expiry */
  outcome: (orderId: string, opts?: { signal?: AbortSignal }) => Promise<OrderOutcome>
  on: (event: 'order' | 'bid' | 'lease' | 'expired' | 'closed', fn: (x: any) => void) => () => void
  rejected: () => number
  /** the committee chain grew: certificates held for its new epoch are checked now */
  committeeChanged: () => void
}

/** certificates of an epoch this node has no committee file for yet, held until the chain
 * announcement arrives (gossip gives no order between topics' messages) */
const MAX_HELD_CERTIFICATES = 1_000

export function leaseBook (init: LeaseBookInit): (components: { gossip: SoukGossip }) => LeaseBook {
  return ({ gossip }) => {
    const maxOrders = init.maxOrders ?? 50_000
    const orders = new Map<string, SignedMessage<OrderBody>>()
    const bidsByOrder = new Map<string, Array<SignedMessage<BidBody>>>()
    const bidsById = new Map<string, SignedMessage<BidBody>>()
    const leases = new Map<string, LeaseRecord>()
    const expiries = new Map<string, ExpiryRecord>()
    const expiryVotes = new Map<string, Map<string, OrderExpiredBody>>()
    const ee = new EventEmitter()
    ee.setMaxListeners(0)
    let rejected = 0

    const committeeForEpoch = (epoch: number): CommitteeFile | undefined => init.committee().find((f) => f.info.epoch === epoch)
    const latest = (): CommitteeFile | undefined => init.committee().at(-1)
    const held = new Map<string, SignedMessage<LeaseCertificateBody>>()

    function forgetOldest (): void {
      while (orders.size > maxOrders) {
        const id = orders.keys().next().value as string
        orders.delete(id)
        for (const b of bidsByOrder.get(id) ?? []) bidsById.delete(b.idHex)
        bidsByOrder.delete(id)
      }
    }

    function onOrder (m: SignedMessage<OrderBody>): void {
      if (orders.has(m.idHex)) return
      orders.set(m.idHex, m)
      forgetOldest()
      ee.emit('order', m)
    }

    function onBid (m: SignedMessage<BidBody>): void {
      if (bidsById.has(m.idHex)) return
      const orderId = toHex(m.body.order)
      bidsById.set(m.idHex, m)
      const list = bidsByOrder.get(orderId) ?? []
      if (list.length >= 1000) return
      list.push(m)
      bidsByOrder.set(orderId, list)
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
        certifiedAt: Date.now()
      }
      leases.set(orderId, rec)
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
      const votes = expiryVotes.get(orderId) ?? new Map<string, OrderExpiredBody>()
      votes.set(toHex(m.signer), m.body)
      expiryVotes.set(orderId, votes)
      const f = Math.floor((file.info.validators.length - 1) / 3)
      if (votes.size < f + 1) return
      expiryVotes.delete(orderId)
      const rec: ExpiryRecord = { orderId, code: m.body.code, reason: m.body.reason, height: m.body.height }
      expiries.set(orderId, rec)
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
      ee.emit('closed', rec)
    }

    function route (m: SignedMessage): void {
      switch (m.tag) {
        case MessageTag.ORDER: onOrder(m as SignedMessage<OrderBody>); break
        case MessageTag.BID: onBid(m as SignedMessage<BidBody>); break
        case MessageTag.LEASE_CERTIFICATE: onCertificate(m as SignedMessage<LeaseCertificateBody>); break
        case MessageTag.ORDER_EXPIRED: onExpired(m as SignedMessage<OrderExpiredBody>); break
        case MessageTag.CLOSE: onClose(m as SignedMessage<CloseBody>); break
        default: break
      }
    }

    for (const t of [Topic.ORDERS, Topic.BIDS, Topic.LEASES]) gossip.onMessage(t, (m) => route(m))

    return {
      order: (id) => orders.get(id),
      bids: (id) => [...(bidsByOrder.get(id) ?? [])],
      bid: (id) => bidsById.get(id),
      lease: (id) => leases.get(id),
      leases: () => [...leases.values()],
      expiry: (id) => expiries.get(id),
      openOrders: (now) => [...orders.values()].filter((o) => !leases.has(o.idHex) && !expiries.has(o.idHex) && o.body.bidDeadline > now - 60_000),
      record: route,
      rejected: () => rejected,
      committeeChanged () {
        const top = latest()?.info.epoch ?? -1
        for (const [orderId, m] of [...held]) {
          if (m.body.epoch > top) continue
          held.delete(orderId)
          onCertificate(m)
        }
      },
      on (event, fn) { ee.on(event, fn); return () => { ee.off(event, fn) } },
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
  }
}
