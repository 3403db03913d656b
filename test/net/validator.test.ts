// The gossip validator on its own: every wire failure maps to the documented verdict, is counted
// per topic and verdict, and only accepted messages come back as verified SignedMessages.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeCbor, signMessage, registerMessageType, ReplayWindows, MessageTag, schema } from '../../src/wire/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { gossipValidator, PenaltyBook, memoryMetrics, Topic, Verdict, MetricName, gossipMessageId, GossipValidationError, DEFAULT_TOPIC_POLICIES } from '../../src/net/index.ts'
import { signOrder } from './helpers.ts'
import { sha256 } from '../../src/wire/index.ts'

function setup (topics = DEFAULT_TOPIC_POLICIES) {
  const metrics = memoryMetrics()
  const penalties = new PenaltyBook()
  const v = gossipValidator({ topics })({ replay: new ReplayWindows(), penalties, metrics })
  return { v, metrics, penalties }
}

const alice = generateIdentity()
const peer = generateIdentity().peerId

test('a good order is accepted and returned verified', () => {
  const { v, metrics } = setup()
  const o = signOrder(alice)
  const r = v.validate(Topic.ORDERS, peer, o.bytes)
  assert.is(r.verdict, Verdict.ACCEPT)
  assert.is(r.message?.idHex, o.idHex)
  assert.is(metrics.get(MetricName.GOSSIP_VALIDATION, { topic: Topic.ORDERS, verdict: 'accept', code: 'ok' }), 1)
})

test('a forged signature is rejected', () => {
  const { v, metrics } = setup()
  const o = signOrder(alice)
  const sig = new Uint8Array(o.sig); sig[0] ^= 1
  const r = v.validate(Topic.ORDERS, peer, encodeCbor([o.payload, o.signer, sig]))
  assert.is(r.verdict, Verdict.REJECT)
  assert.ok(r.error instanceof GossipValidationError)
  assert.is(r.error?.code, 'ERR_WIRE_BAD_SIGNATURE')
  assert.is(r.message, undefined)
  assert.is(metrics.get(MetricName.GOSSIP_VALIDATION, { topic: Topic.ORDERS, verdict: 'reject', code: 'ERR_WIRE_BAD_SIGNATURE' }), 1)
})

test('a payload signed by another key is rejected', () => {
  const { v } = setup()
  const o = signOrder(alice)
  const mallory = generateIdentity()
  assert.is(v.validate(Topic.ORDERS, peer, encodeCbor([o.payload, mallory.publicKey, o.sig])).verdict, Verdict.REJECT)
})

test('stale and future messages are ignored, not rejected', () => {
  const { v } = setup()
  const stale = signOrder(alice, { createdAt: Date.now() - 11 * 60_000 })
  const r1 = v.validate(Topic.ORDERS, peer, stale.bytes)
  assert.is(r1.verdict, Verdict.IGNORE)
  assert.is(r1.error?.code, 'ERR_WIRE_STALE')
  const future = signOrder(alice, { createdAt: Date.now() + 5 * 60_000 })
  assert.is(v.validate(Topic.ORDERS, peer, future.bytes).verdict, Verdict.IGNORE)
})

test('a replay is ignored and never returned twice; a re-wrapped one is rejected under its own gossip ID', () => {
  const { v } = setup()
  const o = signOrder(alice)
  assert.is(v.validate(Topic.ORDERS, peer, o.bytes).verdict, Verdict.ACCEPT)
  const again = v.validate(Topic.ORDERS, peer, o.bytes)
  assert.is(again.verdict, Verdict.IGNORE)
  assert.is(again.error?.code, 'ERR_WIRE_REPLAY')
  // same payload in a differently encoded envelope (4-byte length header): not canonical CBOR,
  // and its gossip ID differs from the real message's, so it cannot make that one a duplicate
  const rest = o.bytes.subarray(o.bytes.length - (2 + 32 + 2 + 64))
  const rewrapped = new Uint8Array([0x83, 0x5a, 0, 0, o.payload.length >> 8, o.payload.length & 0xff, ...o.payload, ...rest])
  assert.not.equal(rewrapped, o.bytes)
  const r = v.validate(Topic.ORDERS, peer, rewrapped)
  assert.is(r.verdict, Verdict.REJECT)
  assert.is(r.error?.code, 'ERR_WIRE_NON_CANONICAL')
  assert.not.equal(gossipMessageId(rewrapped), gossipMessageId(o.bytes))
  // the same payload and envelope with a broken signature: refused (a replay of what was seen,
  // before its signature is looked at), and under a gossip ID of its own, so that gossipsub marking
  // it seen, had it come first, would not make the real message a duplicate
  const sig = Uint8Array.from(o.sig); sig[3] ^= 1
  const broken = encodeCbor([o.payload, o.signer, sig])
  assert.is.not(v.validate(Topic.ORDERS, peer, broken).verdict, Verdict.ACCEPT)
  assert.not.equal(gossipMessageId(broken), gossipMessageId(o.bytes))
})

test('an oversized message is rejected before decoding', () => {
  const { v } = setup()
  const big = encodeCbor([new Uint8Array(70 * 1024), alice.publicKey, new Uint8Array(64)])
  const r = v.validate(Topic.ORDERS, peer, big)
  assert.is(r.verdict, Verdict.REJECT)
  assert.is(r.error?.code, 'ERR_WIRE_TOO_LARGE')
})

test('garbage and wrong-topic messages are rejected', () => {
  const { v } = setup()
  assert.is(v.validate(Topic.ORDERS, peer, new Uint8Array([1, 2, 3])).verdict, Verdict.REJECT)
  assert.is(v.validate(Topic.ORDERS, peer, new Uint8Array()).verdict, Verdict.REJECT)
  const close = signMessage(alice, MessageTag.CLOSE, { lease: sha256(new Uint8Array([1])), reason: 'done' })
  const r = v.validate(Topic.ORDERS, peer, close.bytes)
  assert.is(r.verdict, Verdict.REJECT)
  assert.is(r.error?.code, 'ERR_WIRE_WRONG_TYPE')
  assert.is(v.validate(Topic.LEASES, peer, close.bytes).verdict, Verdict.ACCEPT)
  assert.is(v.validate('/souk/1/unknown', peer, close.bytes).verdict, Verdict.REJECT)
})

test('the committee topic accepts any registered souk/committee/ tag, and only those', () => {
  registerMessageType('souk/committee/test-vote', (x: unknown, path: string) => {
    const o = schema.map(x, path, ['height'])
    return { height: schema.uint(o.height, `${path}.height`) }
  })
  const { v } = setup()
  const vote = signMessage(alice, 'souk/committee/test-vote', { height: 7 })
  const r = v.validate(Topic.COMMITTEE, peer, vote.bytes)
  assert.is(r.verdict, Verdict.ACCEPT)
  assert.equal(r.message?.body, { height: 7 })
  assert.is(v.validate(Topic.ORDERS, peer, vote.bytes).verdict, Verdict.REJECT)
  const order = signOrder(alice)
  assert.is(v.validate(Topic.COMMITTEE, peer, order.bytes).verdict, Verdict.REJECT)
  assert.ok(v.allows(Topic.COMMITTEE, 'souk/committee/test-vote'))
  assert.not.ok(v.allows(Topic.COMMITTEE, 'souk/order'))
})

test('the accepted tags per topic are configurable', () => {
  const { v } = setup({ '/souk/1/orders': { tags: [MessageTag.ORDER, MessageTag.CLOSE] } })
  const close = signMessage(alice, MessageTag.CLOSE, { lease: sha256(new Uint8Array([2])), reason: 'x' })
  assert.is(v.validate(Topic.ORDERS, peer, close.bytes).verdict, Verdict.ACCEPT)
  assert.equal(v.topics, ['/souk/1/orders'])
})

test('per-signer rate limit: over the limit is ignored; sustained excess from the signer itself earns penalty points until throttled', () => {
  const { v, penalties } = setup({ [Topic.ORDERS]: { tags: [MessageTag.ORDER], signerLimit: { perSecond: 1, burst: 3 } } })
  const spammer = generateIdentity()
  const now = Date.now()
  const verdicts = []
  for (let i = 0; i < 20; i++) verdicts.push(v.validate(Topic.ORDERS, spammer.peerId, signOrder(spammer).bytes, now).verdict)
  assert.equal(verdicts.slice(0, 3), ['accept', 'accept', 'accept'])
  assert.ok(verdicts.slice(3).every((x) => x === 'ignore'))
  assert.ok(penalties.points(spammer.peerId.toString(), now) > 0)
  assert.ok(penalties.isThrottled(spammer.peerId.toString(), now))
  // throttled peers are ignored before their messages are even decoded
  const r = v.validate(Topic.ORDERS, spammer.peerId, signOrder(alice).bytes, now)
  assert.is(r.error?.code, 'ERR_GOSSIP_THROTTLED')
  // a relay forwarding the spammer's messages is not penalised for them
  const relay = generateIdentity().peerId
  for (let i = 0; i < 20; i++) v.validate(Topic.ORDERS, relay, signOrder(spammer).bytes, now)
  assert.is(penalties.points(relay.toString(), now), 0)
  // points decay: a minute later the spammer is no longer throttled
  assert.not.ok(penalties.isThrottled(spammer.peerId.toString(), now + 60_000))
})

test('a bid past its expiry is ignored as late before its signature is checked; a role can add such checks', () => {
  const { v, metrics } = setup()
  const o = signOrder(alice)
  const bidder = generateIdentity()
  const now = Date.now()
  const bidBody = (expiresAt: number) => ({ order: o.id, prices: [{ denom: 'uakt', amount: '5' }], attributes: {}, auditors: [], expiresAt })
  // expired, and with a broken signature: the late check answers first, so no check is spent on it
  const expired = signMessage(bidder, MessageTag.BID, bidBody(now - 1))
  const sig = new Uint8Array(expired.sig); sig[0] ^= 1
  const r = v.validate(Topic.BIDS, peer, encodeCbor([expired.payload, expired.signer, sig]), now)
  assert.is(r.verdict, Verdict.IGNORE)
  assert.is(r.error?.code, 'ERR_GOSSIP_LATE')
  assert.match(r.error?.message ?? '', /the bid expired/)
  assert.is(metrics.get(MetricName.GOSSIP_VALIDATION, { topic: Topic.BIDS, verdict: 'ignore', code: 'ERR_GOSSIP_LATE' }), 1)
  // a check a role adds (a validator: the order's bid window closed) works the same way, until removed
  const remove = v.addPrecheck(Topic.BIDS, () => 'its order\'s bid window closed')
  const fresh = signMessage(bidder, MessageTag.BID, bidBody(now + 60_000))
  assert.is(v.validate(Topic.BIDS, peer, fresh.bytes, now).error?.code, 'ERR_GOSSIP_LATE')
  remove()
  assert.is(v.validate(Topic.BIDS, peer, fresh.bytes, now).verdict, Verdict.ACCEPT)
})

test.run()
