// Hostile load on real committee nodes (real ed25519, real stores, the real consensus): state a
// stranger can add stays bounded, each bound is counted when it bites, and an honest order placed
// during the attack still gets its lease. Bounds are scaled down through the nodes' init so the
// floods stay small; the code paths are the production ones.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster, key, order, bid } from './harness.ts'
import type { Cluster } from './harness.ts'
import { ExpiryCode, Bounds } from '../../src/committee/index.ts'
import { signMessage } from '../../src/wire/envelope.ts'
import { MessageTag } from '../../src/wire/constants.ts'
import type { BidBody } from '../../src/wire/index.ts'

const price = (amount: string): Array<{ denom: string, amount: string }> => [{ denom: 'uakt', amount }]

/** an honest order with one fitting bid, placed now; returns its ID */
function honestOrder (c: Cluster, tenant = key(2, 9)): string {
  const o = order(tenant, c.now(), c.now() + 400)
  c.submit(o)
  c.run(5)
  c.submit(bid(key(3, 9), o, c.now(), price('5')))
  return o.idHex
}

const leased = (c: Cluster, id: string): boolean => c.members.every((m) => m.leases.some((l) => Buffer.from(l.lease.order).toString('hex') === id))

test('bids for made-up orders wait apart, bounded, and expire; an honest order still gets its lease', () => {
  const init = { maxUnknownOrderBids: 300, unknownOrderBidMs: 1_000 }
  const c = cluster(4, { seed: 41, init })
  try {
    for (const m of c.members) c.boot(m)
    c.run(300)
    const v0 = c.members[0].node!
    const flooder = key(3, 7)
    const results = new Map<boolean, number>()
    for (let i = 0; i < 1000; i++) {
      const madeUp = new Uint8Array(32); new DataView(madeUp.buffer).setUint32(0, i + 1)
      const b = signMessage<BidBody>(flooder, MessageTag.BID, { order: madeUp, prices: price('1'), attributes: {}, auditors: [], expiresAt: c.now() + 60_000 }, { createdAt: c.now() })
      const r = v0.submit(b.bytes).accepted
      results.set(r, (results.get(r) ?? 0) + 1)
    }
    const s = v0.status()
    assert.is(s.poolWaiting, 300, 'at most the bound waits')
    assert.is(s.pool, 0, 'none of them takes room from items that can be ordered')
    assert.is(s.bounds.unknown_order_full, 700, 'the refusals are counted')
    const id = honestOrder(c)
    c.run(1500)
    assert.ok(leased(c, id), 'the honest order got its lease from every validator')
    // the waiting bids expire (their orders never came)
    c.run(1500)
    assert.is(v0.status().poolWaiting, 0)
    assert.is(v0.status().bounds.unknown_order_expired, 300)
  } finally {
    c.close()
  }
})

test('a bid that arrives before its order waits for it and then counts', () => {
  const c = cluster(4, { seed: 42 })
  try {
    for (const m of c.members) c.boot(m)
    c.run(300)
    const o = order(key(2, 3), c.now(), c.now() + 400)
    const b = bid(key(3, 3), o, c.now(), price('7'))
    c.submit(b)
    assert.is(c.members[0].node!.status().poolWaiting, 1)
    c.run(20)
    c.submit(o)
    assert.is(c.members[0].node!.status().poolWaiting, 0, 'it joined the pool with its order')
    c.run(1500)
    assert.ok(leased(c, o.idHex))
  } finally {
    c.close()
  }
})

test('one signer and one order get a bounded share of the pool: a flood does not make an honest order "pool full"', () => {
  const init = { maxPool: 400, maxPoolPerSigner: 100, maxPoolPerOrder: 50 }
  const c = cluster(4, { seed: 43, init })
  try {
    for (const m of c.members) c.boot(m)
    c.run(300)
    const v0 = c.members[0].node!
    // one order, flooded with bids from many keys: its share is bounded
    const target = order(key(2, 4), c.now(), c.now() + 5_000)
    c.submit(target)
    for (let i = 0; i < 120; i++) v0.submit(bid(key(4, i), target, c.now(), price(String(i + 1))).bytes)
    // one signer flooding orders: its share is bounded
    for (let i = 0; i < 150; i++) v0.submit(order(key(2, 5), c.now(), c.now() + 5_000).bytes)
    const s = v0.status()
    assert.ok(s.pool <= 1 + 50 + 100, `the pool holds at most the shares (${s.pool})`)
    assert.ok((s.bounds.pool_per_order ?? 0) >= 70 && (s.bounds.pool_per_signer ?? 0) >= 50, JSON.stringify(s.bounds))
    const id = honestOrder(c)
    c.run(1500)
    assert.ok(leased(c, id), 'the honest order got its lease')
  } finally {
    c.close()
  }
})

test('one tenant holds a bounded share of the open orders: beyond it its orders expire at once (committee-full), counted', () => {
  const c = cluster(4, { seed: 44 })
  try {
    for (const m of c.members) c.boot(m)
    c.run(300)
    // far deadlines: beyond its share, a tenant's orders would otherwise stay open for minutes.
    // The wire caps a deadline at 10 min after createdAt, so one years ahead cannot even be sent.
    assert.throws(() => order(key(2, 6), c.now(), c.now() + 10 * 365 * 24 * 3600_000), /bidDeadline: must be at most/)
    const flooder = key(2, 6)
    const over = 40
    for (let i = 0; i < Bounds.LEDGER_OPEN_ORDERS_PER_TENANT + over; i++) c.submit(order(flooder, c.now(), c.now() + 9 * 60_000))
    c.run(1500)
    for (const m of c.members) {
      const s = m.node!.status()
      assert.is(s.openOrders, Bounds.LEDGER_OPEN_ORDERS_PER_TENANT, `${m.name} holds the tenant's share open`)
      assert.is(s.bounds.ledger_orders, over, `${m.name} counted the refusals`)
      assert.is(m.expired.filter((e) => e.code === ExpiryCode.FULL).length, over)
    }
    const id = honestOrder(c)
    c.run(1500)
    assert.ok(leased(c, id), 'another tenant\'s order still gets its lease')
  } finally {
    c.close()
  }
})

test.run()
