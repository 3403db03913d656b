// What a tenant or provider believes from the leases topic: certificates only when 2f+1
// validators of the committee file signed them, expiries only when f+1 validators say so,
// closes only from the lease's tenant or provider.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster, key, order, bid } from '../committee/harness.ts'
import { leaseBook } from '../../src/node/lease-book.ts'
import type { LeaseBook } from '../../src/node/lease-book.ts'
import { signMessage, MessageTag, toHex } from '../../src/wire/index.ts'
import type { SignedMessage, LeaseCertificateBody } from '../../src/wire/index.ts'
import { Topic } from '../../src/net/index.ts'
import type { SoukGossip } from '../../src/net/index.ts'

/** the slice of gossip the book uses: it only subscribes; the test delivers */
function feed (): { gossip: SoukGossip, deliver: (topic: string, m: SignedMessage) => void } {
  const handlers = new Map<string, Array<(m: SignedMessage) => void>>()
  const gossip = { onMessage: (topic: string, h: (m: SignedMessage) => void) => { handlers.set(topic, [...(handlers.get(topic) ?? []), h]); return () => {} } } as unknown as SoukGossip
  return { gossip, deliver: (topic, m) => { for (const h of handlers.get(topic) ?? []) h(m) } }
}

const c = cluster(4)
for (const m of c.members) c.boot(m)
const tenant = key(2, 0)
const provider = key(3, 0)
const o = order(tenant, c.now(), c.now() + 400)
c.submit(o)
const b = bid(provider, o, c.now() + 10, [{ denom: 'uakt', amount: '30' }])
c.submit(b)
c.run(1500)
const cert: LeaseCertificateBody = c.members[0].leases[0].certificate
c.close()

function book (): { book: LeaseBook, deliver: (topic: string, m: SignedMessage) => void } {
  const f = feed()
  return { book: leaseBook({ committee: () => [c.genesis] })({ gossip: f.gossip }), deliver: f.deliver }
}

test('a certificate signed by 2f+1 validators makes the lease; a tampered one is ignored', async () => {
  const { book: bk, deliver } = book()
  const courier = key(9, 0) // anyone may relay a certificate: the signatures inside decide
  const forged = { ...cert, signatures: cert.signatures.slice(0, 2) }
  deliver(Topic.LEASES, signMessage(courier, MessageTag.LEASE_CERTIFICATE, forged))
  assert.is(bk.lease(o.idHex), undefined)
  assert.is(bk.rejected(), 1)
  const outcome = bk.outcome(o.idHex)
  deliver(Topic.LEASES, signMessage(courier, MessageTag.LEASE_CERTIFICATE, cert))
  const got = await outcome
  assert.is(got.kind, 'lease')
  assert.is(bk.lease(o.idHex)?.provider, toHex(provider.publicKey))
})

test('an expiry counts once f+1 validators state it, and never from outsiders', async () => {
  const { book: bk, deliver } = book()
  const other = order(tenant, c.now(), c.now() + 400)
  const body = { order: other.id, code: 'no-bids', reason: 'no bid was ordered before the bid deadline', height: 9 }
  deliver(Topic.LEASES, signMessage(key(9, 1), MessageTag.ORDER_EXPIRED, body))
  deliver(Topic.LEASES, signMessage(c.members[0].id, MessageTag.ORDER_EXPIRED, body))
  deliver(Topic.LEASES, signMessage(c.members[0].id, MessageTag.ORDER_EXPIRED, body))
  assert.is(bk.expiry(other.idHex), undefined, 'one validator (twice) and an outsider are not enough with f = 1')
  deliver(Topic.LEASES, signMessage(c.members[1].id, MessageTag.ORDER_EXPIRED, body))
  assert.is(bk.expiry(other.idHex)?.code, 'no-bids')
})

test('only the lease\'s tenant or provider can close it', () => {
  const { book: bk, deliver } = book()
  deliver(Topic.LEASES, signMessage(key(9, 0), MessageTag.LEASE_CERTIFICATE, cert))
  deliver(Topic.LEASES, signMessage(key(9, 2), MessageTag.CLOSE, { lease: o.id, reason: 'not yours' }))
  assert.is(bk.lease(o.idHex)?.state, 'active')
  deliver(Topic.LEASES, signMessage(tenant, MessageTag.CLOSE, { lease: o.id, reason: 'done' }))
  assert.is(bk.lease(o.idHex)?.state, 'closed')
  assert.is(bk.lease(o.idHex)?.closedBy, 'tenant')
})

test('a certificate of an epoch the chain does not reach yet is held until the chain grows', async () => {
  // the book's chain stops short of the certificate's epoch, as on a node whose announcement of
  // the new committee is still on its way
  let files: typeof c.genesis[] = []
  const f = feed()
  const bk = leaseBook({ committee: () => files })({ gossip: f.gossip })
  const outcome = bk.outcome(o.idHex)
  f.deliver(Topic.LEASES, signMessage(key(9, 0), MessageTag.LEASE_CERTIFICATE, cert))
  assert.is(bk.lease(o.idHex), undefined)
  assert.is(bk.rejected(), 0, 'held, not refused')
  files = [c.genesis]
  bk.committeeChanged()
  assert.is((await outcome).kind, 'lease')
  // a certificate that still does not verify once its epoch is known is refused then
  const other = order(tenant, c.now(), c.now() + 400)
  f.deliver(Topic.LEASES, signMessage(key(9, 0), MessageTag.LEASE_CERTIFICATE, { ...cert, order: other.id, epoch: 1 }))
  assert.is(bk.rejected(), 0)
  files = [c.genesis, { ...c.genesis, info: { ...c.genesis.info, epoch: 1 } }]
  bk.committeeChanged()
  assert.is(bk.lease(other.idHex), undefined)
  assert.is(bk.rejected(), 1)
})

// ---- bounds: everything a stranger can add is capped --------------------------------------------

function bounded (over: Partial<Parameters<typeof leaseBook>[0]> = {}): { book: LeaseBook, deliver: (topic: string, m: SignedMessage) => void, clock: { t: number } } {
  const f = feed()
  const clock = { t: c.now() }
  return { book: leaseBook({ committee: () => [c.genesis], now: () => clock.t, ...over })({ gossip: f.gossip }), deliver: f.deliver, clock }
}

test('bids for orders nobody has seen wait briefly, within a count and a byte budget, then go', () => {
  const { book: bk, deliver, clock } = bounded({ maxPendingBids: 5, pendingBidTtlMs: 30_000 })
  const provider = key(3, 1)
  const stray = Array.from({ length: 8 }, (_, i) => bid(provider, order(key(4, i), clock.t, clock.t + 400), clock.t, [{ denom: 'uakt', amount: '1' }]))
  for (const b of stray) deliver(Topic.BIDS, b)
  assert.is(bk.stats().pendingBids, 5, 'the oldest made room')
  assert.is(bk.bid(stray[0].idHex), undefined)
  // a bid that waited for its order is taken in when the order comes
  const late = order(key(4, 9), clock.t, clock.t + 400)
  const early = bid(provider, late, clock.t, [{ denom: 'uakt', amount: '2' }])
  deliver(Topic.BIDS, early)
  deliver(Topic.ORDERS, late)
  assert.equal(bk.bids(late.idHex).map((b) => b.idHex), [early.idHex])
  // the rest are dropped once they waited longer than the TTL
  clock.t += 31_000
  deliver(Topic.ORDERS, order(key(4, 10), clock.t, clock.t + 400))
  assert.is(bk.stats().pendingBids, 0)
})

test('bids per order, per provider and in bytes are capped; losers go when the order is settled', () => {
  const { book: bk, deliver, clock } = bounded({ maxBidsPerOrder: 3, maxBidsPerProvider: 2 })
  const o1 = order(key(5, 0), clock.t, clock.t + 400)
  deliver(Topic.ORDERS, o1)
  const p = [key(6, 0), key(6, 1), key(6, 2)]
  for (let i = 0; i < 3; i++) deliver(Topic.BIDS, bid(p[0], o1, clock.t + i, [{ denom: 'uakt', amount: String(10 + i) }]))
  assert.is(bk.bids(o1.idHex).length, 2, 'two from one provider')
  deliver(Topic.BIDS, bid(p[1], o1, clock.t, [{ denom: 'uakt', amount: '9' }]))
  deliver(Topic.BIDS, bid(p[2], o1, clock.t, [{ denom: 'uakt', amount: '8' }]))
  assert.is(bk.bids(o1.idHex).length, 3, 'three in all')
  const expired = { order: o1.id, code: 'no-fitting-bid', reason: 'x', height: 3 }
  deliver(Topic.LEASES, signMessage(c.members[0].id, MessageTag.ORDER_EXPIRED, expired))
  deliver(Topic.LEASES, signMessage(c.members[1].id, MessageTag.ORDER_EXPIRED, expired))
  assert.is(bk.expiry(o1.idHex)?.code, 'no-fitting-bid')
  assert.equal(bk.bids(o1.idHex), [])
  assert.is(bk.stats().bids, 0)
  assert.is(bk.stats().bidBytes, 0)
  const { book: small, deliver: d2 } = bounded({ maxBidBytes: 700 })
  const o2 = order(key(5, 1), clock.t, clock.t + 400)
  d2(Topic.ORDERS, o2)
  for (let i = 0; i < 5; i++) d2(Topic.BIDS, bid(key(6, 3 + i), o2, clock.t, [{ denom: 'uakt', amount: '1' }]))
  assert.ok(small.stats().bidBytes <= 700, JSON.stringify(small.stats()))
})

test('one signer\'s orders are capped (its own node exempt); orders are forgotten after their deadline', () => {
  const { book: bk, deliver, clock } = bounded({ maxOrdersPerTenant: 3, orderRetentionMs: 60_000 })
  const flooder = key(7, 0)
  const flood = Array.from({ length: 5 }, (_, i) => order(flooder, clock.t + i, clock.t + 400))
  for (const o of flood) deliver(Topic.ORDERS, o)
  assert.is(flood.filter((o) => bk.order(o.idHex) != null).length, 3)
  bk.record(order(flooder, clock.t + 10, clock.t + 400))
  assert.is(bk.stats().orders, 4, 'an order this node made itself is always kept')
  // past the deadline plus the retention, the orders and their bids are gone, and the signer may order again
  clock.t += 400 + 60_001 + 5_000
  const fresh = order(flooder, clock.t, clock.t + 400)
  deliver(Topic.ORDERS, fresh)
  assert.is(bk.stats().orders, 1)
  assert.ok(bk.order(fresh.idHex) != null)
})

test('the per-signer cap is on open orders: a tenant ordering again and again, each order decided before the next, keeps every one in the book', () => {
  const { book: bk, deliver, clock } = bounded({ maxOrdersPerTenant: 3, orderRetentionMs: 60_000 })
  const busy = key(7, 1)
  const held: string[] = []
  for (let i = 0; i < 10; i++) {
    const o = order(busy, clock.t + i, clock.t + 400)
    deliver(Topic.ORDERS, o)
    assert.ok(bk.order(o.idHex) != null, `order ${i + 1} is held`)
    held.push(o.idHex)
    // f + 1 validators say it expired: it has its outcome and gives its slot back
    const body = { order: o.id, code: 'no-bids', reason: 'no bids', height: 1 }
    for (const v of c.members.slice(0, 2)) deliver(Topic.LEASES, signMessage(v.id, MessageTag.ORDER_EXPIRED, body))
    clock.t += 10
  }
  assert.is(held.filter((id) => bk.order(id) != null).length, 10, 'decided orders stay for their retention')
  // open ones are still capped
  const open = Array.from({ length: 5 }, (_, i) => order(busy, clock.t + 100 + i, clock.t + 400))
  for (const o of open) deliver(Topic.ORDERS, o)
  assert.is(open.filter((o) => bk.order(o.idHex) != null).length, 3)
})

test('a full book forgets decided orders first: a stranger\'s orders expired at once cannot push out open ones', () => {
  const { book: bk, deliver, clock } = bounded({ maxOrders: 10, maxOrdersPerTenant: 3, orderRetentionMs: 60_000 })
  const honest = Array.from({ length: 2 }, (_, i) => order(key(8, i), clock.t + i, clock.t + 30_000))
  for (const o of honest) deliver(Topic.ORDERS, o)
  // the flooder's orders each get their expiry at once, so each frees its slot for the next
  const flooder = key(7, 2)
  for (let i = 0; i < 50; i++) {
    const o = order(flooder, clock.t + 10 + i, clock.t + 400)
    deliver(Topic.ORDERS, o)
    const body = { order: o.id, code: 'deadline-too-far', reason: 'too far', height: 1 }
    for (const v of c.members.slice(0, 2)) deliver(Topic.LEASES, signMessage(v.id, MessageTag.ORDER_EXPIRED, body))
  }
  assert.is(bk.stats().orders, 10)
  assert.ok(honest.every((o) => bk.order(o.idHex) != null), 'the open orders are still held')
})

test('an order whose certificate came first takes no slot of its signer', () => {
  const { book: bk, deliver } = bounded({ maxOrdersPerTenant: 1 })
  deliver(Topic.LEASES, signMessage(key(9, 1), MessageTag.LEASE_CERTIFICATE, cert))
  deliver(Topic.ORDERS, o)
  assert.ok(bk.order(o.idHex) != null)
  const next = order(tenant, o.body.bidDeadline, o.body.bidDeadline + 60_000)
  deliver(Topic.ORDERS, next)
  assert.ok(bk.order(next.idHex) != null, 'the slot is still free for an open order')
})

test('expiry statements for orders nobody knows are capped', () => {
  const { book: bk, deliver } = bounded({ maxExpiryVotes: 10 })
  for (let i = 0; i < 50; i++) {
    deliver(Topic.LEASES, signMessage(c.members[0].id, MessageTag.ORDER_EXPIRED, { order: new Uint8Array(32).fill(i), code: 'no-bids', reason: '', height: 1 }))
  }
  assert.is(bk.stats().expiryVotes, 10)
})

test('the envelopes that decided recent orders are kept for a node that was away: the certificate, the f+1 expiry statements, newest first', () => {
  const { book: bk, deliver } = book()
  const courier = key(9, 0)
  const certMsg = signMessage(courier, MessageTag.LEASE_CERTIFICATE, cert)
  deliver(Topic.LEASES, certMsg)
  const other = order(tenant, c.now(), c.now() + 400)
  const body = { order: other.id, code: 'no-bids', reason: 'no bid was ordered before the bid deadline', height: 9 }
  const e0 = signMessage(c.members[0].id, MessageTag.ORDER_EXPIRED, body)
  deliver(Topic.LEASES, e0)
  assert.equal(bk.outcomeMessages(0, 100).map((b) => toHex(b)), [toHex(certMsg.bytes)], 'one statement decides nothing and is not offered')
  const e1 = signMessage(c.members[1].id, MessageTag.ORDER_EXPIRED, body)
  deliver(Topic.LEASES, e1)
  assert.equal(bk.outcomeMessages(0, 100).map((b) => toHex(b)), [e0, e1, certMsg].map((m) => toHex(m.bytes)))
  assert.is(bk.outcomeMessages(0, 2).length, 2, 'the limit holds')
  assert.equal(bk.outcomeMessages(Date.now() + 60_000, 100), [], 'nothing older than asked for')
  // a close is not an outcome
  deliver(Topic.LEASES, signMessage(tenant, MessageTag.CLOSE, { lease: o.id, reason: 'done' }))
  assert.is(bk.outcomeMessages(0, 100).length, 3)
})

test.run()
