import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateIdentity, peerIdOfPublicKey } from '../../src/identity/index.ts'
import type { Identity } from '../../src/identity/index.ts'
import { MessageTag, openMessage, signMessage, toHex } from '../../src/wire/index.ts'
import type { BidBody, OrderBody, SignedMessage, WireGroup, WireResources } from '../../src/wire/index.ts'
import {
  bidEngine, formatDecision, manualClock, signAttestation, verifyAttestation, MarketError, PricingError, MarketMetricName
} from '../../src/market/index.ts'
import type { BidEngineInit, ManualClock, PricingStrategy, DecisionStore, Decision } from '../../src/market/index.ts'
import { memoryMetrics } from '../../src/net/metrics.ts'
import { capacityReservations } from './capacity.ts'
import type { Capacity, CapacityReservations } from './capacity.ts'

const GiB = 2 ** 30
const tenant = generateIdentity()
const provider = generateIdentity()
const auditor = generateIdentity()
const otherAuditor = generateIdentity()

const PROVIDER_ATTRIBUTES = { region: 'us-east', tier: 'community', host: 'provider-1' }
const TABLE = { denom: 'uakt', cpu: '4', memory: '1', storage: { ephemeral: '0.5' }, gpu: { 'nvidia/h100': '5' } }

function resources (over: Partial<WireResources> = {}): WireResources {
  return {
    service: 'web',
    cpu: 1000,
    memory: GiB,
    storage: [{ name: 'default', size: 2 * GiB, persistent: false }],
    gpu: { units: 0, models: [] },
    count: 1,
    price: { denom: 'uakt', amount: '10' },
    ...over
  }
}

function group (over: Partial<WireGroup> = {}): WireGroup {
  return {
    name: 'akash',
    attributes: { region: 'us-east' },
    signedBy: { allOf: [], anyOf: [] },
    resources: [resources()],
    maxPrice: { denom: 'uakt', amount: '10' },
    ...over
  }
}

interface Setup {
  clock: ManualClock
  capacity: CapacityReservations
  published: Array<SignedMessage<BidBody>>
  engine: ReturnType<ReturnType<typeof bidEngine>>
  order: (groups?: WireGroup[], deadlineIn?: number) => SignedMessage<OrderBody>
}

function setup (init: Partial<BidEngineInit> = {}, cap: Partial<Capacity> = {}, extra: { publishBid?: (s: SignedMessage<BidBody>) => void, store?: DecisionStore, metrics?: any, identity?: Identity } = {}): Setup {
  const clock = manualClock(Date.now())
  const capacity = capacityReservations({ cpu: 16_000, memory: 64 * GiB, storage: { ephemeral: 500 * GiB }, gpu: { 'nvidia/h100': 1 }, ...cap })
  const published: Array<SignedMessage<BidBody>> = []
  const engine = bidEngine({ attributes: PROVIDER_ATTRIBUTES, pricing: { table: TABLE }, bidValidityMs: 30_000, ...init })({
    identity: extra.identity ?? provider,
    reservations: capacity,
    clock,
    publishBid: extra.publishBid ?? ((s) => { published.push(s) }),
    store: extra.store,
    metrics: extra.metrics
  })
  const order = (groups: WireGroup[] = [group()], deadlineIn = 5_000): SignedMessage<OrderBody> =>
    signMessage<OrderBody>(tenant, MessageTag.ORDER, { groups, manifestHash: new Uint8Array(32).fill(7), bidDeadline: clock.now() + deadlineIn }, { createdAt: clock.now() })
  return { clock, capacity, published, engine, order }
}

const h100 = (units: number): WireResources => resources({ gpu: { units, models: [{ vendor: 'nvidia', model: 'h100' }] } })

test('a provider with 1 free H100 declines an order needing 2, saying so exactly', async () => {
  const { engine, capacity, published, order } = setup()
  const before = capacity.free()
  const o = order([group({ resources: [h100(2)], maxPrice: { denom: 'uakt', amount: '100' } })])
  const d = await engine.handleOrder(o)
  assert.is(d.outcome, 'declined')
  assert.equal(d.reasons, [{ code: 'ERR_INSUFFICIENT_GPU', message: 'needs 2 × nvidia/h100, have 1 free' }])
  const explained = await engine.explain(o.idHex)
  assert.ok(explained != null)
  assert.is(formatDecision(explained), 'ERR_INSUFFICIENT_GPU: needs 2 × nvidia/h100, have 1 free')
  assert.is(published.length, 0)
  assert.equal(capacity.free(), before)
  assert.equal(capacity.held(), [])
})

test('a bid is a valid signed message, and capacity is reserved before it goes out', async () => {
  let freeAtPublish: number | undefined
  const published: Array<SignedMessage<BidBody>> = []
  const s = setup({}, {}, {
    publishBid: (signed) => {
      freeAtPublish = s.capacity.free().gpu['nvidia/h100']
      published.push(signed)
    }
  })
  // 1 cpu × 4 + 1 GiB × 1 + 2 GiB ephemeral × 0.5 + 1 H100 × 5 = 11
  const o = s.order([group({ resources: [h100(1)], maxPrice: { denom: 'uakt', amount: '11' } })])
  const d = await s.engine.handleOrder(o)
  assert.is(d.outcome, 'bid', formatDecision(d))
  assert.equal(d.prices, [{ denom: 'uakt', amount: '11' }])
  assert.is(freeAtPublish, 0, 'the H100 was not reserved when the bid went out')
  assert.is(published.length, 1)

  const bid = openMessage<BidBody>(published[0].bytes, { expect: MessageTag.BID })
  assert.equal(bid.signer, provider.publicKey)
  assert.equal(bid.body.order, o.id)
  assert.equal(bid.body.prices, [{ denom: 'uakt', amount: '11' }])
  assert.equal(bid.body.attributes, PROVIDER_ATTRIBUTES)
  assert.is(bid.body.expiresAt, o.body.bidDeadline + 30_000)
  assert.is(d.bid, bid.idHex)
  assert.is(d.tenant, peerIdOfPublicKey(tenant.publicKey))
  // the portable verifier agrees
  openMessage(published[0].bytes, { expect: MessageTag.BID, verifier: 'noble' })
})

test('losing the auction gives the capacity back at once', async () => {
  const { engine, capacity, order } = setup()
  const o = order([group({ resources: [h100(1)], maxPrice: { denom: 'uakt', amount: '11' } })])
  assert.is((await engine.handleOrder(o)).outcome, 'bid')
  assert.is(capacity.free().gpu['nvidia/h100'], 0)
  assert.is(capacity.free().cpu, 15_000)
  await engine.onBidLost(o.id)
  assert.is(capacity.free().gpu['nvidia/h100'], 1)
  assert.is(capacity.free().cpu, 16_000)
  const d = await engine.explain(o.idHex)
  assert.is(d?.state, 'lost')
  assert.equal(engine.held(), [])
})

test('an expired bid gives the capacity back when its time is up, not before', async () => {
  const { engine, capacity, clock, order } = setup()
  const o = order([group({ resources: [h100(1)], maxPrice: { denom: 'uakt', amount: '11' } })])
  const d = await engine.handleOrder(o)
  const expiresAt = d.expiresAt as number
  clock.advance(expiresAt - clock.now() - 1)
  assert.is(capacity.free().gpu['nvidia/h100'], 0)
  clock.advance(1)
  // release is asynchronous-safe; let it settle
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(capacity.free().gpu['nvidia/h100'], 1)
  assert.is((await engine.explain(o.idHex))?.state, 'expired')
  assert.is(clock.pending(), 0)
})

test('a won lease keeps its capacity past the bid expiry until the lease closes', async () => {
  const { engine, capacity, clock, order } = setup()
  const o = order([group({ resources: [h100(1)], maxPrice: { denom: 'uakt', amount: '11' } })])
  await engine.handleOrder(o)
  assert.equal(await engine.onLeaseWon(o.idHex), { ok: true })
  assert.is(clock.pending(), 0, 'the expiry timer should be cancelled')
  clock.advance(10 * 60_000)
  assert.is(capacity.free().gpu['nvidia/h100'], 0)
  assert.equal(engine.held().map((h) => h.state), ['won'])
  await engine.onLeaseClosed(o.idHex)
  assert.is(capacity.free().gpu['nvidia/h100'], 1)
  assert.is((await engine.explain(o.idHex))?.state, 'closed')
  // closing twice changes nothing
  await engine.onLeaseClosed(o.idHex)
  assert.is(capacity.free().gpu['nvidia/h100'], 1)
})

test('a lease won after the bid expired takes its capacity again, if it is still free', async () => {
  const { engine, capacity, clock, order } = setup()
  const o = order([group({ resources: [h100(1)], maxPrice: { denom: 'uakt', amount: '11' } })])
  await engine.handleOrder(o)
  clock.advance(60_000)
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(capacity.free().gpu['nvidia/h100'], 1)
  assert.equal(await engine.onLeaseWon(o.idHex), { ok: true })
  assert.is(capacity.free().gpu['nvidia/h100'], 0)
  assert.is((await engine.explain(o.idHex))?.state, 'won')
  await engine.onLeaseClosed(o.idHex)
  assert.is(capacity.free().gpu['nvidia/h100'], 1)
})

test('a price above the group maximum is declined, compared exactly', async () => {
  const { engine, capacity, published, order } = setup({ pricing: { table: { denom: 'uakt', cpu: '12' } } })
  const before = capacity.free()
  const o = order([group()])
  const d = await engine.handleOrder(o)
  assert.is(formatDecision(d), 'ERR_PRICE_ABOVE_MAX: price 12 > max 10 uakt for group akash')
  assert.is(d.reasons[0].group, 'akash')
  assert.is(published.length, 0)
  assert.equal(capacity.free(), before)

  // 0.1 + 0.2 is not above 0.3: no float noise decides an auction
  const exact = setup({ pricing: { table: { denom: 'uakt', cpu: '0.1', memory: '0.2' } } })
  const d2 = await exact.engine.handleOrder(exact.order([group({ resources: [resources({ storage: [] })], maxPrice: { denom: 'uakt', amount: '0.3' } })]))
  assert.is(d2.outcome, 'bid', formatDecision(d2))
  assert.equal(d2.prices, [{ denom: 'uakt', amount: '0.3' }])
})

test('a group paying in another denom is declined', async () => {
  const { engine, order } = setup()
  const d = await engine.handleOrder(order([group({ maxPrice: { denom: 'usdc', amount: '1000' } })]))
  assert.is(formatDecision(d), 'ERR_DENOM_MISMATCH: group akash pays in usdc, provider prices in uakt')
})

test('required attributes must match exactly, per group, and every miss is reported', async () => {
  const { engine, order, published } = setup()
  const d = await engine.handleOrder(order([
    group({ name: 'web', attributes: { region: 'eu-west' } }),
    group({ name: 'db', attributes: { region: 'us-east', tier: 'community', 'capabilities/gpu': 'nvidia' } })
  ]))
  assert.is(d.outcome, 'declined')
  assert.equal(d.reasons, [
    { code: 'ERR_MISSING_ATTRIBUTE', group: 'web', message: 'region=eu-west required by group web, provider has region=us-east' },
    { code: 'ERR_MISSING_ATTRIBUTE', group: 'db', message: 'capabilities/gpu=nvidia required by group db, provider has no capabilities/gpu' }
  ])
  assert.is(published.length, 0)
})

test('required auditors: allOf and anyOf need a valid attestation from those auditors', async () => {
  const attestation = signAttestation(auditor, provider.publicKey, PROVIDER_ATTRIBUTES)
  assert.ok(verifyAttestation(attestation, provider.publicKey, PROVIDER_ATTRIBUTES))
  // bound to the attributes and the provider key
  assert.not.ok(verifyAttestation(attestation, provider.publicKey, { ...PROVIDER_ATTRIBUTES, region: 'eu-west' }))
  assert.not.ok(verifyAttestation(attestation, tenant.publicKey, PROVIDER_ATTRIBUTES))

  const auditorId = peerIdOfPublicKey(auditor.publicKey)
  const otherId = peerIdOfPublicKey(otherAuditor.publicKey)

  const none = setup()
  const d0 = await none.engine.handleOrder(none.order([group({ signedBy: { allOf: [auditorId], anyOf: [] } })]))
  assert.is(formatDecision(d0), `ERR_MISSING_AUDITOR: group akash requires an attestation by ${auditorId}; provider holds no attestations`)

  const s = setup({ attestations: [attestation] })
  const d1 = await s.engine.handleOrder(s.order([group({ signedBy: { allOf: [auditorId, otherId], anyOf: [] } })]))
  assert.is(formatDecision(d1), `ERR_MISSING_AUDITOR: group akash requires an attestation by ${otherId}; provider holds attestations by ${auditorId}`)
  const d2 = await s.engine.handleOrder(s.order([group({ signedBy: { allOf: [], anyOf: [otherId, 'akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63'] } })]))
  assert.is(d2.reasons[0].code, 'ERR_MISSING_AUDITOR')
  assert.match(d2.reasons[0].message, 'requires an attestation by one of')

  // named by peer ID in allOf and by hex key (any case) in anyOf: both match
  const d3 = await s.engine.handleOrder(s.order([group({ signedBy: { allOf: [auditorId], anyOf: [otherId, toHex(auditor.publicKey).toUpperCase()] } })]))
  assert.is(d3.outcome, 'bid', formatDecision(d3))
  const bid = openMessage<BidBody>(s.published[0].bytes, { expect: MessageTag.BID })
  assert.is(bid.body.auditors.length, 1)
  // anyone can check the bid's attestations from the bid alone
  assert.ok(verifyAttestation(bid.body.auditors[0], bid.signer, bid.body.attributes))
})

test('an attestation that does not verify is refused when the engine starts', () => {
  const wrong = signAttestation(auditor, provider.publicKey, { ...PROVIDER_ATTRIBUTES, tier: 'premium' })
  try {
    setup({ attestations: [wrong] })
    assert.unreachable()
  } catch (err: any) {
    assert.instance(err, MarketError)
    assert.is(err.code, 'ERR_MARKET_BAD_ATTESTATION')
    assert.match(err.message, 'attestations[0]')
  }
})

test('a passed deadline gets no bid, also when it passes while pricing', async () => {
  const s = setup()
  const late = s.order([group()], -1)
  const d = await s.engine.handleOrder(late)
  assert.is(d.reasons[0].code, 'ERR_DEADLINE_PASSED')
  assert.is(d.reasons[0].message, 'bid deadline passed 1 ms ago')

  let clock: ManualClock | undefined
  const slow: PricingStrategy = {
    name: 'slow',
    async price (req) {
      clock?.advance(6_000)
      return req.groups.map(() => ({ denom: 'uakt', amount: '1' }))
    }
  }
  const t = setup({ pricing: slow })
  clock = t.clock
  const before = t.capacity.free()
  const d2 = await t.engine.handleOrder(t.order([group()]))
  assert.is(formatDecision(d2), 'ERR_DEADLINE_PASSED: bid deadline passed 1000 ms ago')
  assert.equal(t.capacity.free(), before)
  assert.is(t.published.length, 0)

  const far = setup({ maxBidWindowMs: 60_000 })
  const d3 = await far.engine.handleOrder(far.order([group()], 300_000))
  assert.is(d3.reasons[0].code, 'ERR_DEADLINE_TOO_FAR')
})

test('one tenant\'s flood holds at most maxReservationsPerTenant; other tenants still get bids', async () => {
  const metrics = memoryMetrics()
  const s = setup({ maxReservationsPerTenant: 2 }, {}, { metrics })
  const a = await s.engine.handleOrder(s.order())
  const b = await s.engine.handleOrder(s.order())
  const c = await s.engine.handleOrder(s.order())
  assert.is(a.outcome, 'bid')
  assert.is(b.outcome, 'bid')
  assert.is(formatDecision(c), 'ERR_TENANT_RESERVATIONS: already holding 2 reservations for open bids on this tenant\'s orders (limit 2 per tenant)')
  assert.is(metrics.get(MarketMetricName.BOUND_HIT, { bound: 'reservations-per-tenant' }), 1)
  const other = generateIdentity()
  const honest = signMessage<OrderBody>(other, MessageTag.ORDER, { groups: [group()], manifestHash: new Uint8Array(32).fill(8), bidDeadline: s.clock.now() + 5_000 }, { createdAt: s.clock.now() })
  assert.is((await s.engine.handleOrder(honest)).outcome, 'bid')
  // a lost bid and a won lease both give the tenant's slot back
  await s.engine.onBidLost(a.order)
  await s.engine.onLeaseWon(b.order)
  assert.is((await s.engine.handleOrder(s.order())).outcome, 'bid')
  assert.is((await s.engine.handleOrder(s.order())).outcome, 'bid')
  assert.is((await s.engine.handleOrder(s.order())).reasons[0].code, 'ERR_TENANT_RESERVATIONS')
})

test('at most maxConcurrentReservations open bids; a lost one frees a slot', async () => {
  const s = setup({ maxConcurrentReservations: 2 })
  const a = await s.engine.handleOrder(s.order())
  const b = await s.engine.handleOrder(s.order())
  const c = await s.engine.handleOrder(s.order())
  assert.is(a.outcome, 'bid')
  assert.is(b.outcome, 'bid')
  assert.is(formatDecision(c), 'ERR_TOO_MANY_RESERVATIONS: already holding 2 reservations for open bids (limit 2)')
  await s.engine.onBidLost(a.order)
  // a won lease is no longer an open bid
  await s.engine.onLeaseWon(b.order)
  assert.is((await s.engine.handleOrder(s.order())).outcome, 'bid')
  assert.is((await s.engine.handleOrder(s.order())).outcome, 'bid')
  assert.is(s.capacity.held().length, 3)
})

test('the same order twice gets one decision and one bid', async () => {
  const s = setup()
  const o = s.order()
  const [d1, d2] = await Promise.all([s.engine.handleOrder(o), s.engine.handleOrder(o)])
  const d3 = await s.engine.handleOrder(o)
  assert.is(d1.bid, d2.bid)
  assert.is(d1.bid, d3.bid)
  assert.is(s.published.length, 1)
  assert.is(s.capacity.held().length, 1)
})

test('a pricing script that fails or times out gives ERR_PRICING_SCRIPT and reserves nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'souk-engine-'))
  try {
    const slow = join(dir, 'slow.sh')
    writeFileSync(slow, '#!/bin/sh\nsleep 30\n', { mode: 0o755 })
    const s = setup({ pricing: { script: { command: slow, denom: 'uakt', timeoutMs: 200 } } })
    const before = s.capacity.free()
    const d = await s.engine.handleOrder(s.order())
    assert.is(d.outcome, 'declined')
    assert.is(d.reasons[0].code, 'ERR_PRICING_SCRIPT')
    assert.match(d.reasons[0].message, 'did not answer within 200 ms')
    assert.equal(s.capacity.free(), before)
    assert.is(s.published.length, 0)

    const ok = join(dir, 'ok.sh')
    writeFileSync(ok, '#!/bin/sh\ncat >/dev/null\necho 9.75\n', { mode: 0o755 })
    const t = setup({ pricing: { script: { command: ok, denom: 'uakt' } } })
    const d2 = await t.engine.handleOrder(t.order())
    assert.equal(d2.prices, [{ denom: 'uakt', amount: '9.75' }])
    await t.engine.stop()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a bid that cannot be published gives its reservation back', async () => {
  const s = setup({}, {}, { publishBid: () => { throw new Error('no peers subscribed to /souk/1/bids') } })
  const before = s.capacity.free()
  const d = await s.engine.handleOrder(s.order())
  assert.is(formatDecision(d), 'ERR_PUBLISH_FAILED: bid could not be published: no peers subscribed to /souk/1/bids')
  assert.equal(s.capacity.free(), before)
  assert.is(s.clock.pending(), 0)
})

test('stop gives back every open bid reservation and keeps won leases', async () => {
  const s = setup()
  const a = await s.engine.handleOrder(s.order())
  const b = await s.engine.handleOrder(s.order())
  await s.engine.onLeaseWon(b.order)
  await s.engine.stop()
  assert.equal(s.capacity.held(), [b.order])
  assert.is((await s.engine.explain(a.order))?.state, 'stopped')
  assert.is(s.clock.pending(), 0)
  try {
    await s.engine.handleOrder(s.order())
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.code, 'ERR_MARKET_STOPPED')
  }
})

test('decisions are bounded in memory, or go to the store that is given', async () => {
  const s = setup({ maxDecisions: 2 })
  const ds: Decision[] = []
  for (let i = 0; i < 3; i++) ds.push(await s.engine.handleOrder(s.order([group({ attributes: { region: 'mars' } })])))
  assert.is(await s.engine.explain(ds[0].order), undefined)
  assert.ok(await s.engine.explain(ds[2].order))

  const saved = new Map<string, Decision>()
  const store: DecisionStore = { put: async (d) => { saved.set(d.order, d) }, get: async (id) => saved.get(id) }
  const t = setup({}, {}, { store })
  const d = await t.engine.handleOrder(t.order())
  assert.is(saved.get(d.order)?.outcome, 'bid')
  await t.engine.onBidLost(d.order)
  assert.is(saved.get(d.order)?.state, 'lost')
})

test('decisions and releases are counted', async () => {
  const metrics = memoryMetrics()
  const s = setup({}, {}, { metrics })
  const d = await s.engine.handleOrder(s.order())
  await s.engine.handleOrder(s.order([group({ maxPrice: { denom: 'uakt', amount: '1' } })]))
  await s.engine.onBidLost(d.order)
  assert.is(metrics.get(MarketMetricName.DECISIONS, { outcome: 'bid', code: '' }), 1)
  assert.is(metrics.get(MarketMetricName.DECISIONS, { outcome: 'declined', code: 'ERR_PRICE_ABOVE_MAX' }), 1)
  assert.is(metrics.get(MarketMetricName.RESERVATION_RELEASES, { reason: 'lost' }), 1)
})

test('a strategy error that is not a PricingError is still a reason, not a crash', async () => {
  const broken: PricingStrategy = { name: 'broken', async price () { throw new TypeError('table missing') } }
  const s = setup({ pricing: broken })
  const d = await s.engine.handleOrder(s.order())
  assert.is(formatDecision(d), 'ERR_PRICING_FAILED: table missing')
  const wrong: PricingStrategy = { name: 'wrong', async price () { return [{ denom: 'uakt', amount: '1e3' }] } }
  const t = setup({ pricing: wrong })
  assert.is((await t.engine.handleOrder(t.order())).reasons[0].code, 'ERR_PRICING_FAILED')
  void PricingError
})

test('bad configuration is a typed error naming the field', () => {
  assert.throws(() => bidEngine({ attributes: PROVIDER_ATTRIBUTES, pricing: {} as any }), /pricing: must be/)
  assert.throws(() => bidEngine({ attributes: { region: 3 as any }, pricing: { table: TABLE } }), /attributes\.region/)
  assert.throws(() => bidEngine({ attributes: {}, pricing: { table: TABLE }, maxConcurrentReservations: 0 }), /maxConcurrentReservations/)
})

test('every reason at once: attributes, then capacity, then price; a dry run holds and publishes nothing', async () => {
  const { engine, capacity, published, order } = setup()
  // the capacity check, as the provider's inventory gives it: every resource that falls short
  ;(capacity as any).check = (d: any) => {
    const cpu = d.groups.flatMap((g: any) => g.resources).reduce((a: number, r: any) => a + r.cpu * r.count, 0)
    const mem = d.groups.flatMap((g: any) => g.resources).reduce((a: number, r: any) => a + r.memory * r.count, 0)
    return [...(cpu > 16_000 ? [{ code: 'ERR_INSUFFICIENT_CPU', message: 'cpu short' }] : []), ...(mem > 64 * GiB ? [{ code: 'ERR_INSUFFICIENT_MEMORY', message: 'memory short' }] : [])]
  }
  const before = capacity.free()
  const o = order([group({ attributes: { region: 'eu-west' }, resources: [resources({ cpu: 64_000, memory: 900 * GiB })], maxPrice: { denom: 'uakt', amount: '1' } })])
  const dry = await engine.evaluate(o)
  assert.equal(dry.reasons.map((r) => r.code), ['ERR_MISSING_ATTRIBUTE', 'ERR_INSUFFICIENT_CPU', 'ERR_INSUFFICIENT_MEMORY', 'ERR_PRICE_ABOVE_MAX'])
  assert.is(await engine.explain(o.idHex), undefined, 'a dry run is not recorded')
  const d = await engine.handleOrder(o)
  assert.equal(d.reasons.map((r) => r.code), dry.reasons.map((r) => r.code))
  const fine = await engine.evaluate(order())
  assert.is(fine.outcome, 'bid')
  assert.ok(fine.prices != null && fine.prices.length === 1)
  assert.equal(capacity.free(), before)
  assert.is(published.length, 0)
  assert.is(engine.held().length, 0)
})

test('explain takes the short ID deploy prints, and refuses a prefix two orders share', async () => {
  const { engine, order } = setup()
  const a = order()
  await engine.handleOrder(a)
  assert.is((await engine.explain(a.idHex.slice(0, 12)))?.order, a.idHex)
  assert.is((await engine.explain(a.idHex.slice(0, 12).toUpperCase()))?.order, a.idHex)
  // find a second order sharing the first hex digit
  let b = order([group()], 5_001)
  for (let i = 2; b.idHex[0] !== a.idHex[0]; i++) b = order([group()], 5_000 + i)
  await engine.handleOrder(b)
  try {
    await engine.explain(a.idHex.slice(0, 1))
    assert.unreachable('an ambiguous prefix was taken')
  } catch (err: any) {
    assert.is(err.code, 'ERR_MARKET_AMBIGUOUS_ID')
  }
})

test('a lease adopted after a restart holds its capacity as won, and closing it gives it back', async () => {
  const { engine, capacity } = setup()
  const before = capacity.free()
  const r = await engine.adopt('cd'.repeat(32), 'tenant', { order: 'cd'.repeat(32), groups: [{ name: 'akash', resources: [resources({ cpu: 4000 })] }] })
  assert.ok(r.ok)
  assert.not.equal(capacity.free(), before)
  assert.equal(engine.held().map((h) => h.state), ['won'])
  await engine.onLeaseClosed('cd'.repeat(32))
  assert.equal(capacity.free(), before)
})

test('reconfigure: the next order is priced with the new table and matched on the new attributes; bids sent stand', async () => {
  const s = setup()
  const o1 = s.order([group({ maxPrice: { denom: 'uakt', amount: '100' } })])
  // 1 cpu × 4 + 1 GiB × 1 + 2 GiB ephemeral × 0.5 = 6
  assert.equal((await s.engine.handleOrder(o1)).prices, [{ denom: 'uakt', amount: '6' }])
  const eu = s.order([group({ attributes: { region: 'eu-west' }, maxPrice: { denom: 'uakt', amount: '100' } })])
  assert.is((await s.engine.evaluate(eu)).reasons[0].code, 'ERR_MISSING_ATTRIBUTE')

  s.engine.reconfigure({ attributes: { ...PROVIDER_ATTRIBUTES, region: 'eu-west' }, pricing: { table: { ...TABLE, cpu: '40' } } })
  assert.is(s.engine.attributes().region, 'eu-west')
  // 1 cpu × 40 + 1 + 1 = 42
  const d2 = await s.engine.handleOrder(eu)
  assert.is(d2.outcome, 'bid', formatDecision(d2))
  assert.equal(d2.prices, [{ denom: 'uakt', amount: '42' }])
  const bid2 = openMessage<BidBody>(s.published[1].bytes, { expect: MessageTag.BID })
  assert.is(bid2.body.attributes.region, 'eu-west')
  assert.equal(bid2.body.prices, [{ denom: 'uakt', amount: '42' }])
  // the first bid is what it was, signed; its order answers with its decision, not a new price
  assert.equal(openMessage<BidBody>(s.published[0].bytes, { expect: MessageTag.BID }).body.prices, [{ denom: 'uakt', amount: '6' }])
  assert.equal((await s.engine.handleOrder(o1)).prices, [{ denom: 'uakt', amount: '6' }])
  assert.is(s.published.length, 2)
  // the old region no longer matches
  assert.is((await s.engine.evaluate(s.order([group({ maxPrice: { denom: 'uakt', amount: '100' } })]))).reasons[0].code, 'ERR_MISSING_ATTRIBUTE')
})

test('reconfigure during a decision: that order keeps the terms it started with', async () => {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const slow: PricingStrategy = {
    name: 'slow',
    async price (req) {
      await gate
      return req.groups.map(() => ({ denom: 'uakt', amount: '1' }))
    }
  }
  const s = setup({ pricing: slow })
  const pending = s.engine.handleOrder(s.order([group()]))
  await new Promise((resolve) => setTimeout(resolve, 10))
  s.engine.reconfigure({ attributes: { region: 'eu-west' }, pricing: { table: TABLE } })
  release()
  const d = await pending
  assert.is(d.outcome, 'bid', formatDecision(d))
  assert.equal(d.prices, [{ denom: 'uakt', amount: '1' }])
  assert.is(openMessage<BidBody>(s.published[0].bytes, { expect: MessageTag.BID }).body.attributes.region, 'us-east')
})

test('reconfigure with a bad table, attributes or attestation changes nothing and names the field', async () => {
  const s = setup()
  const bad: Array<[Parameters<typeof s.engine.reconfigure>[0], string, string]> = [
    [{ pricing: { table: { ...TABLE, cpu: '1.0000000000000000001' } } }, 'ERR_MARKET_CONFIG', 'pricing.cpu'],
    [{ pricing: { table: { ...TABLE, denom: '' } } }, 'ERR_MARKET_CONFIG', 'pricing.denom'],
    [{ attributes: { region: 'x'.repeat(1000) }, pricing: { table: { ...TABLE, cpu: '40' } } }, 'ERR_MARKET_CONFIG', 'attributes.region'],
    [{ pricing: 'cheap' as any }, 'ERR_MARKET_CONFIG', 'pricing']
  ]
  for (const [update, code, path] of bad) {
    try {
      s.engine.reconfigure(update)
      assert.unreachable(`accepted ${JSON.stringify(update)}`)
    } catch (err: any) {
      assert.instance(err, MarketError)
      assert.is(err.code, code)
      assert.is(err.path, path)
    }
  }
  // an audited provider: attributes the auditor did not sign are refused, with new prices in the same update
  const attestation = signAttestation(auditor, provider.publicKey, PROVIDER_ATTRIBUTES)
  const a = setup({ attestations: [attestation] })
  try {
    a.engine.reconfigure({ attributes: { ...PROVIDER_ATTRIBUTES, tier: 'premium' }, pricing: { table: { ...TABLE, cpu: '40' } } })
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.code, 'ERR_MARKET_BAD_ATTESTATION')
    assert.is(err.path, 'attestations[0]')
  }
  for (const e of [s, a]) {
    assert.equal(e.engine.attributes(), PROVIDER_ATTRIBUTES)
    const d = await e.engine.handleOrder(e.order([group({ maxPrice: { denom: 'uakt', amount: '100' } })]))
    assert.equal(d.prices, [{ denom: 'uakt', amount: '6' }])
  }
  // with the auditor's signature over the new attributes, they are taken
  const premium = { ...PROVIDER_ATTRIBUTES, tier: 'premium' }
  a.engine.reconfigure({ attributes: premium, attestations: [signAttestation(auditor, provider.publicKey, premium)] })
  assert.is(a.engine.attributes().tier, 'premium')
  await a.engine.stop()
  try { a.engine.reconfigure({ attributes: premium }); assert.unreachable() } catch (err: any) { assert.is(err.code, 'ERR_MARKET_STOPPED') }
})

test('reconfigure to another pricing script; attributes alone keep the script running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'souk-reconf-'))
  try {
    const script = (amount: string): string => {
      const f = join(dir, `price-${amount}.sh`)
      writeFileSync(f, `#!/bin/sh\ncat >/dev/null\necho ${amount}\n`, { mode: 0o755 })
      return f
    }
    const s = setup({ pricing: { script: { command: script('3'), denom: 'uakt' } } })
    assert.equal((await s.engine.handleOrder(s.order([group()]))).prices, [{ denom: 'uakt', amount: '3' }])
    s.engine.reconfigure({ pricing: { script: { command: script('5'), denom: 'uakt' } } })
    assert.equal((await s.engine.handleOrder(s.order([group()]))).prices, [{ denom: 'uakt', amount: '5' }])
    // attributes alone: the script carries over
    s.engine.reconfigure({ attributes: { region: 'us-east' } })
    assert.equal((await s.engine.handleOrder(s.order([group()]))).prices, [{ denom: 'uakt', amount: '5' }])
    await s.engine.stop()
  } finally { rmSync(dir, { recursive: true, force: true }) }
})

test.run()
