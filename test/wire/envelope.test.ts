import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import {
  signMessage, openMessage, encodeCbor, decodeCbor, ReplayWindow, WireError, MessageTag, MAX_ENVELOPE_BYTES, WIRE_VERSION, sha256, toHex
} from '../../src/wire/index.ts'
import type { OrderBody, BidBody } from '../../src/wire/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { sampleOrder, sampleBid } from '../helpers/messages.ts'

const tenant = generateIdentity()
const provider = generateIdentity()

function code (fn: () => unknown): string {
  try { fn() } catch (err: any) {
    assert.instance(err, WireError, `expected a WireError, got ${err?.constructor?.name}: ${err?.message}`)
    return err.code
  }
  assert.unreachable('no error')
  return ''
}

test('an order round-trips: same body, ID is sha256 of the payload, signer is the tenant', () => {
  const m = signMessage(tenant, MessageTag.ORDER, sampleOrder())
  const o = openMessage<OrderBody>(m.bytes, { expect: MessageTag.ORDER })
  assert.equal(o.body, m.body)
  assert.is(o.idHex, toHex(sha256(o.payload)))
  assert.equal(o.signer, tenant.publicKey)
  assert.is(o.tag, 'souk/order')
  assert.is(o.version, WIRE_VERSION)
})

test('both verifiers accept an honest bid', () => {
  const order = signMessage(tenant, MessageTag.ORDER, sampleOrder())
  const bid = signMessage(provider, MessageTag.BID, sampleBid(order.id))
  assert.equal(openMessage<BidBody>(bid.bytes, { verifier: 'native' }).body.order, order.id)
  assert.equal(openMessage<BidBody>(bid.bytes, { verifier: 'noble' }).body.order, order.id)
})

test('a flipped bit anywhere in the payload or signature is refused', () => {
  const m = signMessage(tenant, MessageTag.ORDER, sampleOrder())
  const env = decodeCbor(m.bytes, MAX_ENVELOPE_BYTES) as Uint8Array[]
  const payload = Uint8Array.from(env[0])
  payload[payload.length - 3] ^= 0x01
  assert.ok(['ERR_WIRE_BAD_SIGNATURE', 'ERR_WIRE_SCHEMA', 'ERR_WIRE_MALFORMED'].includes(code(() => openMessage(encodeCbor([payload, env[1], env[2]])))))
  const sig = Uint8Array.from(env[2]); sig[5] ^= 0x80
  assert.is(code(() => openMessage(encodeCbor([env[0], env[1], sig]))), 'ERR_WIRE_BAD_SIGNATURE')
  // someone else's key in the signer slot
  assert.is(code(() => openMessage(encodeCbor([env[0], provider.publicKey, env[2]]))), 'ERR_WIRE_BAD_SIGNATURE')
})

test('domain separation: an order signature cannot pass as a bid', () => {
  const m = signMessage(tenant, MessageTag.ORDER, sampleOrder())
  assert.is(code(() => openMessage(m.bytes, { expect: MessageTag.BID })), 'ERR_WIRE_WRONG_TYPE')
  // re-tag the same body as a bid: the tag is inside the signed bytes, so the signature breaks
  const env = decodeCbor(m.bytes, MAX_ENVELOPE_BYTES) as Uint8Array[]
  const head = decodeCbor(env[0], MAX_ENVELOPE_BYTES) as unknown[]
  const bidBody = sampleBid(new Uint8Array(32))
  const forged = encodeCbor([MessageTag.BID, head[1], head[2], head[3], bidBody])
  assert.is(code(() => openMessage(encodeCbor([forged, env[1], env[2]]))), 'ERR_WIRE_BAD_SIGNATURE')
})

test('stale, future and replayed messages are refused; the window records only good ones', () => {
  const now = Date.now()
  const w = new ReplayWindow({ maxAgeMs: 60_000, maxSkewMs: 5_000 })
  const stale = signMessage(tenant, MessageTag.ORDER, sampleOrder(), { createdAt: now - 120_000 })
  assert.is(code(() => openMessage(stale.bytes, { replay: w, now })), 'ERR_WIRE_STALE')
  const future = signMessage(tenant, MessageTag.ORDER, sampleOrder(), { createdAt: now + 60_000 })
  assert.is(code(() => openMessage(future.bytes, { replay: w, now })), 'ERR_WIRE_FUTURE')
  const ok = signMessage(tenant, MessageTag.ORDER, sampleOrder(), { createdAt: now })
  openMessage(ok.bytes, { replay: w, now })
  assert.is(code(() => openMessage(ok.bytes, { replay: w, now: now + 1 })), 'ERR_WIRE_REPLAY')
  // a forged message must not poison the window
  const env = decodeCbor(ok.bytes, MAX_ENVELOPE_BYTES) as Uint8Array[]
  const other = signMessage(tenant, MessageTag.ORDER, sampleOrder(), { createdAt: now })
  const forged = encodeCbor([other.payload, env[1], env[2]])
  assert.is(code(() => openMessage(forged, { replay: w, now })), 'ERR_WIRE_BAD_SIGNATURE')
  openMessage(other.bytes, { replay: w, now })
  assert.is(w.size, 2)
})

test('a full replay window forgets the oldest and refuses anything not newer than them', () => {
  const w = new ReplayWindow({ capacity: 3, maxAgeMs: 600_000, minRetentionMs: 30_000 })
  const now = 1_000_000
  // five messages a minute apart, all older than the retention when the last arrives
  for (let i = 0; i < 5; i++) w.accept(`id${i}`, now + i * 60_000, now + i * 60_000)
  assert.is(w.size, 3)
  const later = now + 5 * 60_000
  assert.throws(() => w.check('id0', now, later), (e: any) => e.code === 'ERR_WIRE_STALE')
  assert.throws(() => w.check('id1', now + 60_000, later), (e: any) => e.code === 'ERR_WIRE_STALE')
  assert.throws(() => w.check('id4', now + 4 * 60_000, later), (e: any) => e.code === 'ERR_WIRE_REPLAY')
  assert.is(w.floor, now + 60_000 + 1)
  w.check('new', later, later)
})

test('oversized envelopes are refused before decoding', () => {
  const big = new Uint8Array(MAX_ENVELOPE_BYTES + 1)
  assert.is(code(() => openMessage(big)), 'ERR_WIRE_TOO_LARGE')
})

test('an unsupported protocol version is named', () => {
  const nonce = new Uint8Array(randomBytes(16))
  for (const version of [1, WIRE_VERSION + 1]) {
    const payload = encodeCbor([MessageTag.ORDER, version, Date.now(), nonce, sampleOrder()])
    const env = encodeCbor([payload, tenant.publicKey, tenant.sign(payload)])
    try { openMessage(env); assert.unreachable() } catch (err: any) {
      assert.is(err.code, 'ERR_WIRE_UNSUPPORTED_VERSION')
      assert.match(err.message, new RegExp(`version ${version} is not supported \\(this node speaks ${WIRE_VERSION}\\)`))
    }
  }
})

test('nothing malformed is ever signed', () => {
  const bad = { ...sampleOrder(), bidDeadline: -1 }
  try { signMessage(tenant, MessageTag.ORDER, bad); assert.unreachable() } catch (err: any) {
    assert.is(err.code, 'ERR_WIRE_SCHEMA')
    assert.is(err.path, 'body.bidDeadline')
  }
})

test('fuzz: random mutations and random bytes only ever give WireErrors', () => {
  const seeds = [
    signMessage(tenant, MessageTag.ORDER, sampleOrder()).bytes,
    signMessage(provider, MessageTag.BID, sampleBid(new Uint8Array(32))).bytes
  ]
  let rng = 12345
  const next = (): number => { rng = (rng * 1103515245 + 12345) & 0x7fffffff; return rng }
  let refused = 0
  for (let i = 0; i < 3000; i++) {
    const base = seeds[i % seeds.length]
    let data: Uint8Array
    if (i % 10 === 0) {
      data = new Uint8Array(next() % 300).map(() => next() & 0xff)
    } else {
      data = Uint8Array.from(base)
      const flips = 1 + (next() % 4)
      for (let f = 0; f < flips; f++) data[next() % data.length] = next() & 0xff
      if (i % 7 === 0) data = data.subarray(0, next() % data.length)
    }
    try {
      openMessage(data)
      // only an unchanged envelope may pass (a flip can write the byte that was already there)
      assert.equal(Buffer.from(data), Buffer.from(base), 'a changed envelope was accepted')
    } catch (err) {
      if (!(err instanceof WireError)) throw err
      refused++
    }
  }
  assert.ok(refused > 2800, `refused ${refused}`)
})

test('deeply nested CBOR is a typed error, not a crash', () => {
  const depth = 20000
  const data = new Uint8Array(depth + 1).fill(0x81); data[depth] = 0x00
  assert.ok(['ERR_WIRE_MALFORMED', 'ERR_WIRE_SCHEMA'].includes(code(() => openMessage(data))))
})

test.run()
