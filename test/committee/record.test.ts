// The record that follows a provider (protocols/committee.md §6.2): a pure function of the final
// batches, the same on every validator, on one that replays its store and on one that catches up;
// and matching honours it, so a provider that wins and never serves loses its next auction to an
// honest provider at a higher price under the default order settings.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ledger, buildCommittee, CommitteeTag, SERVED_AFTER_MS, PROVIDER_FAILED_WINDOW_MS } from '../../src/committee/index.ts'
import type { Plan, TallyBody } from '../../src/committee/index.ts'
import { signMessage } from '../../src/wire/envelope.ts'
import type { SignedMessage } from '../../src/wire/envelope.ts'
import { MessageTag, CloseCode } from '../../src/wire/constants.ts'
import type { CloseBody, OrderBody } from '../../src/wire/index.ts'
import { openStore } from '../../src/store/index.ts'
import { cluster, key, order, bid, group, GENESIS_TIME } from './harness.ts'

const T = GENESIS_TIME
const tenant = key(2, 0)
const tenant2 = key(2, 1)
const bad = key(3, 0)
const honest = key(3, 1)
const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const validators = [0, 1, 2, 3].map((i) => key(1, i))
const genesis = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: T, validators: validators.map((v) => v.publicKey) })
const cheap = [{ denom: 'uakt', amount: '1' }]
const dear = [{ denom: 'uakt', amount: '5' }]

let n = 0
const close = (who: typeof tenant, o: SignedMessage<OrderBody>, createdAt: number, code?: CloseCode): SignedMessage<CloseBody> =>
  signMessage<CloseBody>(who, MessageTag.CLOSE, { lease: o.id, reason: code ?? 'done', ...(code != null ? { code } : {}) }, { createdAt, nonce: new Uint8Array(16).fill(++n) })

/** a ledger driven batch by batch; after a batch that closes auctions the next carries every validator's tally */
function driver (): { ledger: Ledger, batch: (time: number, items: SignedMessage[]) => Plan[] } {
  const ledger = new Ledger(genesis)
  const batch = (time: number, items: SignedMessage[]): Plan[] => {
    const out: Plan[] = []
    const queue: Array<[number, SignedMessage[]]> = [[time, items]]
    while (queue.length > 0) {
      const [t, its] = queue.shift()!
      const plan = ledger.plan(ledger.height + 1, t, its)
      ledger.apply(plan, new Uint8Array(32).fill(ledger.height + 1))
      out.push(plan)
      if (plan.closing.length > 0) {
        queue.push([t + 1, validators.map((v) => {
          const closing = ledger.pendingClosings().find((c) => c.height === plan.height)!
          const orders = closing.orders.map((o) => ({ order: Buffer.from(o, 'hex'), bids: [...ledger.bidsOf(o).keys()].slice(0, 4).map((b) => new Uint8Array(Buffer.from(b, 'hex'))) }))
          return signMessage<TallyBody>(v, CommitteeTag.TALLY, { epoch: 0, height: plan.height, orders }, { createdAt: t })
        })])
      }
    }
    return out
  }
  return { ledger, batch }
}

/** one auction: an order with the given bids, decided; returns the winner's key (hex) or undefined */
function auction (d: ReturnType<typeof driver>, t: number, who: typeof tenant, bids: Array<[typeof bad, typeof cheap]>, o = order(who, t, t + 200)): { o: SignedMessage<OrderBody>, winner?: string, reason?: string } {
  const plans = [...d.batch(t + 100, [o, ...bids.map(([p, price]) => bid(p, o, t, price))]), ...d.batch(t + 300, [])]
  const lease = plans.flatMap((p) => p.leases).find((l) => hx(l.order) === hx(o.id))
  const exp = plans.flatMap((p) => p.expired).find((x) => hx(x.order) === hx(o.id))
  return { o, winner: lease != null ? hx(lease.provider) : undefined, reason: exp?.reason }
}

test('a provider that wins and never serves loses its next auction to a dearer honest one (default order settings)', () => {
  const d = driver()
  const first = auction(d, T, tenant, [[bad, cheap], [honest, dear]])
  assert.is(first.winner, hx(bad.publicKey), 'the cheapest bid wins a fresh record')
  d.batch(T + 1000, [close(tenant, first.o, T + 900, CloseCode.PROVIDER_FAILED)])
  assert.equal(d.ledger.records.get(hx(bad.publicKey)), { won: 1, served: 0, lost: 0, failed: 1, uncounted: 0 })
  const second = auction(d, T + 2000, tenant2, [[bad, cheap], [honest, dear]])
  assert.is(second.winner, hx(honest.publicKey), 'the failed provider is kept out, the dearer honest one wins')
  // an order that accepts any failure share takes the cheap one again
  const o = signMessage<OrderBody>(tenant2, MessageTag.ORDER, { groups: [group({ denom: 'uakt', amount: '100' })], manifestHash: new Uint8Array(32).fill(1), bidDeadline: T + 4200, accept: { maxFailurePermille: 1000, minServed: 0, allow: [], deny: [] } }, { createdAt: T + 4000 })
  assert.is(auction(d, T + 4000, tenant2, [[bad, cheap], [honest, dear]], o).winner, hx(bad.publicKey))
})

test('only the tenant\'s failure closes count, one per tenant and provider; provider-failed only early', () => {
  const d = driver()
  const a = auction(d, T, tenant, [[bad, cheap]])
  // the provider closing its own lease as lost says nothing about it
  d.batch(T + 1000, [close(bad, a.o, T + 900, CloseCode.PROVIDER_LOST)])
  const b = auction(d, T + 2000, tenant, [[bad, cheap]])
  d.batch(T + 3000, [close(tenant, b.o, T + 2900, CloseCode.PROVIDER_LOST)])
  // a second smear by the same tenant does not count
  const c = auction(d, T + 4000, tenant, [[bad, cheap], [honest, dear]])
  assert.is(c.winner, hx(honest.publicKey))
  const c2 = auction(d, T + 6000, tenant, [[bad, cheap]], signMessage<OrderBody>(tenant, MessageTag.ORDER, { groups: [group({ denom: 'uakt', amount: '100' })], manifestHash: new Uint8Array(32).fill(1), bidDeadline: T + 6200, accept: { maxFailurePermille: 1000, minServed: 0, allow: [], deny: [] } }, { createdAt: T + 6000 }))
  d.batch(T + 7000, [close(tenant, c2.o, T + 6900, CloseCode.PROVIDER_LOST)])
  assert.equal(d.ledger.records.get(hx(bad.publicKey)), { won: 3, served: 0, lost: 1, failed: 0, uncounted: 2 })
  // provider-failed long after the lease was made does not count either
  const late = auction(d, T + 10_000, tenant2, [[honest, dear]])
  d.batch(T + 10_000 + PROVIDER_FAILED_WINDOW_MS + 1000, [close(tenant2, late.o, T + 10_000 + PROVIDER_FAILED_WINDOW_MS + 900, CloseCode.PROVIDER_FAILED)])
  const h = d.ledger.records.get(hx(honest.publicKey))
  assert.is(h.failed, 0)
  assert.is(h.uncounted, 1)
  assert.is(h.served, 1, 'it ran past SERVED_AFTER_MS before the close')
})

test('leases open SERVED_AFTER_MS count as served and outweigh a failure; deny and allow lists', () => {
  const d = driver()
  const a = auction(d, T, tenant, [[bad, cheap]])
  d.batch(T + 1000, [close(tenant, a.o, T + 900, CloseCode.PROVIDER_LOST)])
  assert.is(auction(d, T + 2000, tenant2, [[bad, cheap], [honest, dear]]).winner, hx(honest.publicKey))
  const allowBad: OrderBody['accept'] = { maxFailurePermille: 1000, minServed: 0, allow: [bad.publicKey], deny: [] }
  const mk = (t: number, accept: OrderBody['accept']): SignedMessage<OrderBody> => signMessage<OrderBody>(tenant2, MessageTag.ORDER, { groups: [group({ denom: 'uakt', amount: '100' })], manifestHash: new Uint8Array(32).fill(1), bidDeadline: t + 200, accept }, { createdAt: t })
  assert.is(auction(d, T + 4000, tenant2, [[bad, dear], [honest, cheap]], mk(T + 4000, allowBad)).winner, hx(bad.publicKey), 'an allow list admits only its providers')
  // that lease keeps running: after SERVED_AFTER_MS it is served, and 1 failure against 1 served fits the default share
  d.batch(T + 4000 + SERVED_AFTER_MS + 1000, [])
  assert.is(d.ledger.records.get(hx(bad.publicKey)).served, 1)
  const t = T + 4000 + SERVED_AFTER_MS + 2000
  assert.is(auction(d, t, tenant2, [[bad, cheap], [honest, dear]]).winner, hx(bad.publicKey))
  const denied = auction(d, t + 2000, tenant2, [[bad, cheap], [honest, dear]], mk(t + 2000, { maxFailurePermille: 500, minServed: 0, allow: [], deny: [bad.publicKey] }))
  assert.is(denied.winner, hx(honest.publicKey), 'a deny list keeps a provider out')
  const fussy = auction(d, t + 4000, tenant2, [[bad, cheap], [honest, dear]], mk(t + 4000, { maxFailurePermille: 500, minServed: 1, allow: [], deny: [] }))
  assert.is(fussy.winner, hx(bad.publicKey), 'minServed 1: only the provider that served one fits')
})

test('every validator holds the same record; a restarted one replays it from its store, a late one catches up to it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'souk-record-'))
  const c = cluster(4, { seed: 11 })
  try {
    c.members[0].store.close()
    c.members[0].store = openStore({ path: join(dir, 'v0.sqlite') })
    // v3 joins late: the other three decide everything until it starts
    for (const m of c.members.slice(0, 3)) c.boot(m)
    c.run(300)
    const o1 = order(tenant, c.now(), c.now() + 300)
    c.submit(o1); c.submit(bid(bad, o1, c.now(), cheap)); c.submit(bid(honest, o1, c.now(), dear))
    c.run(1500)
    assert.is(c.members[0].leases.find((l) => hx(l.certificate.order) === hx(o1.id)) != null, true, 'the first order got a lease')
    c.submit(close(tenant, o1, c.now(), CloseCode.PROVIDER_FAILED))
    c.run(800)
    const o2 = order(tenant2, c.now(), c.now() + 300)
    c.submit(o2); c.submit(bid(bad, o2, c.now(), cheap)); c.submit(bid(honest, o2, c.now(), dear))
    c.run(1500)
    const won = c.members[0].leases.find((l) => hx(l.certificate.order) === hx(o2.id))
    assert.ok(won != null, 'the second order got a lease')
    assert.is(hx(won.certificate.provider), hx(honest.publicKey), 'the honest, dearer provider won the second auction')
    const want = { won: 1, served: 0, lost: 0, failed: 1, uncounted: 0 }
    for (const m of c.members.slice(0, 3)) assert.equal(m.node!.providerRecord(hx(bad.publicKey)).record, want, m.name)
    // the late validator catches up from the others and computes the same
    c.boot(c.members[3])
    c.run(2500)
    const top = c.members[0].node!.status().height
    assert.ok(c.members[3].node!.status().height >= top - 1, 'the late validator caught up')
    assert.equal(c.members[3].node!.providerRecord(hx(bad.publicKey)).record, want, 'v3 after catch-up')
    assert.equal(c.members[3].node!.providerRecord(hx(honest.publicKey)).record, { won: 1, served: 0, lost: 0, failed: 0, uncounted: 0 })
    // v0 restarts on its store: the replay gives the same record
    c.crash(c.members[0])
    c.members[0].store.close()
    c.members[0].store = openStore({ path: join(dir, 'v0.sqlite') })
    c.boot(c.members[0])
    assert.equal(c.members[0].node!.providerRecord(hx(bad.publicKey)).record, want, 'v0 after replay')
  } finally {
    c.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
