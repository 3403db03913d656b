import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Ledger, ExpiryCode, Bounds, tieKey, buildCommittee, misfit, CommitteeTag } from '../../src/committee/index.ts'
import type { Plan, TallyBody } from '../../src/committee/index.ts'
import { parseAmount, formatAmount } from '../../src/wire/amount.ts'
import { signMessage } from '../../src/wire/envelope.ts'
import { MessageTag } from '../../src/wire/constants.ts'
import type { CloseBody, BidBody, OrderBody } from '../../src/wire/index.ts'
import { toHex } from '../../src/wire/index.ts'
import { signAttestation } from '../../src/market/index.ts'
import { peerIdOfPublicKey } from '../../src/identity/index.ts'
import { key, order, bid, group, GENESIS_TIME } from './harness.ts'
import { compare } from '../../src/committee/bytes.ts'
import type { SignedMessage } from '../../src/wire/envelope.ts'

const T = GENESIS_TIME
const tenant = key(2, 0)
const p = [0, 1, 2, 3].map((i) => key(3, i))
const genesis = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: T, validators: [0, 1, 2, 3].map((i) => key(1, i).publicKey) })
const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const validators = [0, 1, 2, 3].map((i) => key(1, i))

/** the tally a validator that held every bid of a closing order in time would sign */
function tally (v: typeof validators[0], ledger: Ledger, height: number, only?: (bid: string) => boolean): SignedMessage<TallyBody> {
  const closing = ledger.pendingClosings().find((c) => c.height === height)!
  const orders = closing.orders.map((o) => ({
    order: Buffer.from(o, 'hex'),
    bids: [...ledger.bidsOf(o).keys()].filter((b) => only?.(b) ?? true).slice(0, 4).map((b) => new Uint8Array(Buffer.from(b, 'hex')))
  })).filter((o) => o.bids.length > 0)
  return signMessage<TallyBody>(v, CommitteeTag.TALLY, { epoch: 0, height, orders }, { createdAt: T + height })
}

/**
 * Applies batches (each [committee time, items]); after a batch that closes auctions, the next
 * one carries every validator's tally (as honest validators that held the ordered bids in time
 * would sign it). Returns every plan, and the leases and expiries of all of them.
 */
function run (batches: Array<[number, SignedMessage[]]>): { ledger: Ledger, plans: Plan[], leases: Plan['leases'], expired: Plan['expired'] } {
  const ledger = new Ledger(genesis)
  const plans: Plan[] = []
  const queue = [...batches]
  while (queue.length > 0) {
    const [time, items] = queue.shift()!
    const plan = ledger.plan(ledger.height + 1, time, items)
    ledger.apply(plan, new Uint8Array(32).fill(ledger.height + 1))
    plans.push(plan)
    if (plan.closing.length > 0) queue.unshift([time + 1, validators.map((v) => tally(v, ledger, plan.height))])
  }
  return { ledger, plans, leases: plans.flatMap((p) => p.leases), expired: plans.flatMap((p) => p.expired) }
}

test('amounts compare exactly as scaled integers', () => {
  assert.is(parseAmount('0.1') + parseAmount('0.2'), parseAmount('0.3'))
  assert.ok(parseAmount('100.000000000000000001') > parseAmount('100'))
  assert.is(parseAmount('12.50'), parseAmount('12.5'))
  assert.is(formatAmount(parseAmount('12.50')), '12.5')
  assert.throws(() => parseAmount('1e3'))
  assert.throws(() => parseAmount('-1'))
})

test('the lowest total price among fitting, timely bids wins', () => {
  const o = order(tenant, T, T + 500)
  const cheap = bid(p[0], o, T, [{ denom: 'uakt', amount: '10.000000000000000001' }])
  const cheaper = bid(p[1], o, T, [{ denom: 'uakt', amount: '10' }])
  const tooDear = bid(p[2], o, T, [{ denom: 'uakt', amount: '100.000000000000000001' }])
  const wrongDenom = bid(p[3], o, T, [{ denom: 'usdc', amount: '1' }])
  const { plans, leases } = run([[T + 100, [o, cheap, tooDear]], [T + 200, [cheaper, wrongDenom]], [T + 600, []]])
  assert.is(leases.length, 1)
  const l = leases[0]
  assert.equal(l.bid, cheaper.id)
  assert.equal(l.provider, p[1].publicKey)
  assert.equal(l.tenant, tenant.publicKey)
  assert.is(plans[2].closing.length, 1, 'the batch past the deadline closes the auction')
  assert.is(plans[2].leases.length, 0, 'it settles once the tallies are in, not before')
  assert.is(plans[3].leases.length, 1)
})

test('a bid the tallies do not name (held by no validator before the deadline), or withdrawn before it, does not count', () => {
  const o = order(tenant, T, T + 500)
  const late = bid(p[0], o, T, [{ denom: 'uakt', amount: '1' }])
  const withdrawn = { ...bid(p[1], o, T, [{ denom: 'uakt', amount: '2' }]) }
  const w2 = signMessage(p[1], MessageTag.BID, { ...withdrawn.body, expiresAt: T + 499 }, { createdAt: T })
  const ok = bid(p[2], o, T, [{ denom: 'uakt', amount: '50' }])
  const ledger = new Ledger(genesis)
  const step = (time: number, items: SignedMessage[]): Plan => { const pl = ledger.plan(ledger.height + 1, time, items); ledger.apply(pl, new Uint8Array(32).fill(ledger.height + 1)); return pl }
  step(T + 100, [o, w2, ok])
  const close = step(T + 500, [late])
  assert.is(close.closing.length, 1)
  // the late bid was ordered (in the closing batch) but no validator held it before the deadline
  const settle = step(T + 501, validators.map((v) => tally(v, ledger, close.height, (b) => b !== late.idHex)))
  assert.is(settle.leases.length, 1)
  assert.equal(settle.leases[0].bid, ok.id)
})

test('a bid counts when f+1 of the first threshold tallies name it; one Byzantine tally cannot add a late bid', () => {
  const o = order(tenant, T, T + 500)
  const honest = bid(p[0], o, T, [{ denom: 'uakt', amount: '50' }])
  const colluding = bid(p[1], o, T + 600, [{ denom: 'uakt', amount: '1' }]) // made after the deadline, seen only by v3
  const ledger = new Ledger(genesis)
  const step = (time: number, items: SignedMessage[]): Plan => { const pl = ledger.plan(ledger.height + 1, time, items); ledger.apply(pl, new Uint8Array(32).fill(ledger.height + 1)); return pl }
  step(T + 100, [o, honest])
  const close = step(T + 500, [])
  // the Byzantine validator's tally comes first and names the colluding bid; the proposer orders it too
  // (it signs two, and two keys outside the committee sign theirs: neither a second tally of one
  // validator nor a stranger's takes a place among the first threshold)
  const forged = (who: typeof validators[0], at: number): SignedMessage<TallyBody> =>
    signMessage<TallyBody>(who, CommitteeTag.TALLY, { epoch: 0, height: close.height, orders: [{ order: o.id, bids: [colluding.id, honest.id] }] }, { createdAt: at })
  const byz = [forged(validators[3], T + 601), forged(validators[3], T + 602)]
  const strangers = [forged(key(7, 0), T + 601), forged(key(7, 1), T + 601)]
  const settle = step(T + 700, [colluding, ...byz, ...strangers, ...validators.slice(0, 3).map((v) => tally(v, ledger, close.height, (b) => b === honest.idHex))])
  assert.is(settle.leases.length, 1)
  assert.equal(settle.leases[0].bid, honest.id, 'the bid only the Byzantine tally names does not count')
  // with only f+1 = 2 tallies in, nothing settles: the threshold (3) decides
  const l2 = new Ledger(genesis)
  const s2 = (time: number, items: SignedMessage[]): Plan => { const pl = l2.plan(l2.height + 1, time, items); l2.apply(pl, new Uint8Array(32).fill(l2.height + 1)); return pl }
  s2(T + 100, [o, honest])
  const c2 = s2(T + 500, [])
  assert.is(s2(T + 600, validators.slice(0, 2).map((v) => tally(v, l2, c2.height))).leases.length, 0)
  assert.is(s2(T + 700, [tally(validators[2], l2, c2.height)]).leases.length, 1)
})

test('a timely bid left out of every batch before the deadline still counts: the tallies name it, and the next proposer orders it', () => {
  const o = order(tenant, T, T + 500)
  const dear = bid(p[0], o, T, [{ denom: 'uakt', amount: '90' }])
  const cheap = bid(p[1], o, T, [{ denom: 'uakt', amount: '10' }]) // a censoring proposer kept it out
  const ledger = new Ledger(genesis)
  const step = (time: number, items: SignedMessage[]): Plan => { const pl = ledger.plan(ledger.height + 1, time, items); ledger.apply(pl, new Uint8Array(32).fill(ledger.height + 1)); return pl }
  step(T + 100, [o, dear])
  const close = step(T + 500, [])
  const tallies = validators.map((v) => signMessage<TallyBody>(v, CommitteeTag.TALLY, { epoch: 0, height: close.height, orders: [{ order: o.id, bids: [cheap.id, dear.id] }] }, { createdAt: T + 501 }))
  // the tallies are in but the named bid is not ordered yet: the order waits for it
  const wait = step(T + 600, tallies)
  assert.is(wait.leases.length + wait.expired.length, 0)
  assert.equal([...ledger.neededBids().get(o.idHex) ?? []], [cheap.idHex], 'the next proposer is told to carry it')
  const settle = step(T + 700, [cheap])
  assert.equal(settle.leases[0].bid, cheap.id)
})

test('ties go to the lowest sha256(seed || orderId || bidId), the seed being the closing batch\'s header hash', () => {
  const o = order(tenant, T, T + 500)
  const bids = p.map((x) => bid(x, o, T, [{ denom: 'uakt', amount: '7' }]))
  const { plans, leases } = run([[T + 100, [o, ...bids]], [T + 600, []]])
  // the seed is the header hash of the batch that closed the auction: no provider knew it when bidding
  const seed = new Uint8Array(32).fill(plans.find((x) => x.closing.length > 0)!.height)
  const expect = [...bids].sort((a, b) => compare(tieKey(o.id, a.id, seed), tieKey(o.id, b.id, seed)))[0]
  assert.equal(leases[0].bid, expect.id)
  const unseeded = [...bids].sort((a, b) => compare(tieKey(o.id, a.id), tieKey(o.id, b.id)))[0]
  assert.ok(bids.some((b) => hx(b.id) !== hx(expect.id)) && unseeded != null)
})

test('attributes the group requires must be present and equal', () => {
  const o = order(tenant, T, T + 500, [group({ denom: 'uakt', amount: '100' }, { region: 'eu', tier: 'gold' })])
  const k = p[0].publicKey
  assert.match(String(misfit(o.body, bid(p[0], o, T, [{ denom: 'uakt', amount: '1' }], { region: 'eu' }).body, k)), /tier=gold/)
  assert.match(String(misfit(o.body, bid(p[0], o, T, [{ denom: 'uakt', amount: '1' }], { region: 'us', tier: 'gold' }).body, k)), /region=eu/)
  assert.is(misfit(o.body, bid(p[0], o, T, [{ denom: 'uakt', amount: '1' }], { region: 'eu', tier: 'gold', extra: 'x' }).body, k), undefined)
  assert.match(String(misfit(o.body, bid(p[0], o, T, [{ denom: 'uakt', amount: '1' }, { denom: 'uakt', amount: '1' }], { region: 'eu', tier: 'gold' }).body, k)), /2 prices for 1 groups/)
})

test('an auditor counts only with a valid attestation of the bid\'s attributes by the bidding provider, named by key or peer ID', () => {
  const auditor = key(5, 0)
  const attrs = { region: 'eu', tier: 'gold' }
  const audited = (signedBy: { allOf: string[], anyOf: string[] }): SignedMessage<OrderBody> =>
    order(tenant, T, T + 500, [{ ...group({ denom: 'uakt', amount: '100' }, { region: 'eu' }), signedBy }])
  const bidWith = (provider: typeof p[0], o: SignedMessage<OrderBody>, auditors: Array<{ auditor: Uint8Array, sig: Uint8Array }>, attributes = attrs): SignedMessage<BidBody> =>
    signMessage<BidBody>(provider, MessageTag.BID, { order: o.id, prices: [{ denom: 'uakt', amount: '5' }], attributes, auditors, expiresAt: T + 3_600_000 }, { createdAt: T })
  const good = signAttestation(auditor, p[0].publicKey, attrs)
  const byKey = audited({ allOf: [toHex(auditor.publicKey).toUpperCase()], anyOf: [] })
  const byPeerId = audited({ allOf: [], anyOf: ['12D3KooWNotThisOne', peerIdOfPublicKey(auditor.publicKey)] })
  const fits = (o: SignedMessage<OrderBody>, b: SignedMessage<BidBody>): string | undefined => misfit(o.body, b.body, b.signer)
  assert.is(fits(byKey, bidWith(p[0], byKey, [good])), undefined)
  assert.is(fits(byPeerId, bidWith(p[0], byPeerId, [good])), undefined)
  // the auditor's key with a signature that is not the auditor's
  assert.match(String(fits(byKey, bidWith(p[0], byKey, [{ auditor: auditor.publicKey, sig: new Uint8Array(64).fill(7) }]))), /lacks a valid attestation/)
  // a real attestation, copied by another provider
  assert.match(String(fits(byKey, bidWith(p[1], byKey, [good]))), /lacks a valid attestation/)
  // a real attestation of other attributes than the bid claims
  assert.match(String(fits(byKey, bidWith(p[0], byKey, [good], { region: 'eu', tier: 'platinum' }))), /lacks a valid attestation/)
  assert.match(String(fits(byPeerId, bidWith(p[0], byPeerId, []))), /no valid attestation by any auditor/)
  // in a batch: the forged bid is cheaper, the honest one wins
  const forged = signMessage<BidBody>(p[1], MessageTag.BID, { order: byKey.id, prices: [{ denom: 'uakt', amount: '1' }], attributes: attrs, auditors: [{ auditor: auditor.publicKey, sig: good.sig }], expiresAt: T + 3_600_000 }, { createdAt: T })
  const honest = bidWith(p[0], byKey, [good])
  const { leases } = run([[T + 100, [byKey, forged, honest]], [T + 600, []]])
  assert.equal(leases[0].bid, honest.id)
})

test('orders without a fitting bid expire with a reason the tenant can read', () => {
  const none = order(tenant, T, T + 300)
  const misfits = order(tenant, T, T + 300)
  const late = order(tenant, T, T + 50)
  const b = bid(p[0], misfits, T, [{ denom: 'uakt', amount: '101' }])
  const { expired } = run([[T + 100, [none, misfits, b, late]], [T + 400, []]])
  const byCode = (c: string) => expired.filter((e) => e.code === c)
  assert.is(byCode(ExpiryCode.LATE).length, 1)
  assert.is(byCode(ExpiryCode.NO_BIDS).length, 1)
  const nf = byCode(ExpiryCode.NO_FITTING_BID)
  assert.is(nf.length, 1)
  assert.match(nf[0].reason, /above its maxPrice 100/)
})

test('an order whose deadline lies beyond the largest bid window after committee time expires at once (deadline-too-far)', () => {
  // A batch cannot carry one: the wire caps the deadline at 10 min after createdAt and a batch
  // refuses items created more than 30 s after its time. The ledger keeps its own bound on how
  // long an order stays open all the same; here its committee time lags the orders' creation.
  const createdAt = T + 5 * 60_000
  const far = order(tenant, createdAt, createdAt + 10 * 60_000)
  const edge = order(tenant, createdAt, T + Bounds.LEDGER_MAX_BID_WINDOW_MS)
  const plan = new Ledger(genesis).plan(1, T, [far, edge])
  assert.equal(plan.expired.map((e) => [hx(e.order), e.code]), [[far.idHex, ExpiryCode.TOO_FAR]])
  assert.match(plan.expired[0].reason, /lies more than 630000 ms after committee time/)
  assert.is(plan.bounded.deadlines, 1)
})

test('closes by the tenant or provider end a lease once; others are ignored', () => {
  const o = order(tenant, T, T + 200)
  const b = bid(p[0], o, T, [{ denom: 'uakt', amount: '1' }])
  const close = (who: typeof tenant, createdAt: number): SignedMessage<CloseBody> => signMessage<CloseBody>(who, MessageTag.CLOSE, { lease: o.id, reason: 'done' }, { createdAt })
  const stranger = close(p[3], T + 1)
  const first = close(tenant, T + 2)
  const second = close(p[0], T + 3)
  const { plans, leases } = run([[T + 100, [o, b]], [T + 300, []], [T + 400, [stranger, first, second]]])
  assert.is(leases.length, 1)
  const closed = plans.flatMap((x) => x.closed)
  assert.is(closed.length, 1)
  assert.equal(closed[0].by, tenant.publicKey)
})

test('plan is pure: the same inputs give the same outcome and nothing changes until apply', () => {
  const o = order(tenant, T, T + 200)
  const b = bid(p[0], o, T, [{ denom: 'uakt', amount: '1' }])
  const ledger = new Ledger(genesis)
  const a1 = ledger.plan(1, T + 100, [o, b])
  const a2 = ledger.plan(1, T + 100, [o, b])
  assert.equal(a1.outcomes, a2.outcomes)
  assert.is(ledger.openOrders, 0)
  ledger.apply(a1, new Uint8Array(32))
  assert.is(ledger.openOrders, 1)
  assert.ok(ledger.itemProblem(o, T + 150) != null, 'an ordered item cannot be ordered twice')
})

test.run()
