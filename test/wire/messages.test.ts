import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  signMessage, openMessage, validateOrder, validateBid, validateClose, validateLeaseCertificate,
  encodeManifestFrame, decodeManifestFrame, encodeCbor, MessageTag, WireError, MAX_GROUPS, MAX_MANIFEST_BYTES,
  MAX_BID_WINDOW_MS, MAX_BID_LIFETIME_MS, WIRE_VERSION
} from '../../src/wire/index.ts'
import type { CloseBody, LeaseCertificateBody, OrderBody } from '../../src/wire/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { sampleOrder, sampleBid } from '../helpers/messages.ts'

function err (fn: () => unknown): WireError {
  try { fn() } catch (e) { assert.instance(e, WireError); return e as WireError }
  throw new Error('expected an error')
}

test('order: each bad field is named by its path', () => {
  const o = sampleOrder()
  const cases: Array<[unknown, string, RegExp]> = [
    [{ ...o, groups: [] }, 'body.groups', /must not be empty/],
    [{ ...o, manifestHash: new Uint8Array(31) }, 'body.manifestHash', /32 bytes/],
    [{ ...o, extra: 1 }, 'body.extra', /unknown field/],
    [{ ...o, groups: [{ ...o.groups[0], name: 'bad name!' }] }, 'body.groups[0].name', /letters, digits/],
    [{ ...o, groups: [{ ...o.groups[0], resources: [{ ...o.groups[0].resources[0], cpu: 0 }] }] }, 'body.groups[0].resources[0].cpu', /between 1 and/],
    [{ ...o, groups: [{ ...o.groups[0], resources: [{ ...o.groups[0].resources[0], memory: 1.5 }] }] }, 'body.groups[0].resources[0].memory', /integer/],
    [{ ...o, groups: [{ ...o.groups[0], maxPrice: { denom: 'uakt', amount: '1e5' } }] }, 'body.groups[0].maxPrice.amount', /decimal/],
    [{ ...o, groups: Array(MAX_GROUPS + 1).fill(o.groups[0]) }, 'body.groups', /at most 16/],
    [{ ...o, groups: [{ ...o.groups[0], attributes: { region: 7 } }] }, 'body.groups[0].attributes.region', /string/]
  ]
  for (const [body, path, re] of cases) {
    const e = err(() => validateOrder(body, 'body'))
    assert.is(e.code, 'ERR_WIRE_SCHEMA')
    assert.is(e.path, path)
    assert.match(e.message, re)
  }
})

test('bid: prices, order ID and attestations are checked', () => {
  const b = sampleBid(new Uint8Array(32))
  assert.is(err(() => validateBid({ ...b, prices: [] }, 'body')).path, 'body.prices')
  assert.is(err(() => validateBid({ ...b, order: 'abc' }, 'body')).path, 'body.order')
  assert.is(err(() => validateBid({ ...b, auditors: [{ auditor: new Uint8Array(32), sig: new Uint8Array(3) }] }, 'body')).path, 'body.auditors[0].sig')
  assert.equal(validateBid(b, 'body'), b)
})

test('decoded attributes come in plain string order, not the wire\'s shorter-first order', () => {
  // CBOR writes `tier` before `region` and `zone-b` (shorter first); the typed map is sorted as strings
  const id = generateIdentity()
  const attributes = { zone: 'z', tier: 'gold', region: 'eu', 'zone-b': 'x', a: '1' }
  const m = signMessage(id, MessageTag.BID, sampleBid(new Uint8Array(32).fill(1), { attributes }))
  const back = openMessage<any>(m.bytes)
  assert.equal(Object.keys(back.body.attributes), ['a', 'region', 'tier', 'zone', 'zone-b'])
  assert.equal(back.body.attributes, attributes)
})

test('close round-trips signed by a provider', () => {
  const p = generateIdentity()
  const m = signMessage(p, MessageTag.CLOSE, { lease: new Uint8Array(32).fill(7), reason: 'tenant stopped paying' })
  assert.is(openMessage<CloseBody>(m.bytes, { expect: MessageTag.CLOSE }).body.reason, 'tenant stopped paying')
  assert.is(err(() => validateClose({ lease: new Uint8Array(32), reason: 'x'.repeat(513) }, 'body')).path, 'body.reason')
})

test('lease certificate shape: duplicate validator signatures are refused', () => {
  const cert: LeaseCertificateBody = {
    order: new Uint8Array(32), bid: new Uint8Array(32), tenant: new Uint8Array(32), provider: new Uint8Array(32),
    epoch: 0, height: 12, batch: new Uint8Array(32), index: 0, proof: [new Uint8Array(32)],
    signatures: [{ validator: 0, sig: new Uint8Array(64) }, { validator: 2, sig: new Uint8Array(64) }]
  }
  assert.equal(validateLeaseCertificate(cert, 'cert'), cert)
  const dup = { ...cert, signatures: [cert.signatures[0], cert.signatures[0]] }
  const e = err(() => validateLeaseCertificate(dup, 'cert'))
  assert.is(e.path, 'cert.signatures[1].validator')
  assert.match(e.message, /appears twice/)
})

test('manifest frame: round trip, wrong type, oversized', () => {
  const frame = { lease: new Uint8Array(32).fill(1), manifest: new TextEncoder().encode('{"groups":[]}'), sequence: 0 }
  assert.equal(decodeManifestFrame(encodeManifestFrame(frame)), frame)
  assert.is(err(() => decodeManifestFrame(encodeCbor({ t: 'souk/order', v: 1, lease: frame.lease, manifest: frame.manifest, sequence: 0 }))).code, 'ERR_WIRE_WRONG_TYPE')
  assert.is(err(() => decodeManifestFrame(encodeCbor({ t: 'souk/manifest-frame', v: 9, lease: frame.lease, manifest: frame.manifest, sequence: 0 }))).code, 'ERR_WIRE_UNSUPPORTED_VERSION')
  assert.is(err(() => encodeManifestFrame({ ...frame, manifest: new Uint8Array(MAX_MANIFEST_BYTES + 1) })).code, 'ERR_WIRE_TOO_LARGE')
  assert.is(err(() => decodeManifestFrame(new Uint8Array([0xff, 0x00]))).code, 'ERR_WIRE_MALFORMED')
})

test('an order closes at most 10 min after it was made, a bid lapses at most 60 min after', () => {
  const tenant = generateIdentity()
  const provider = generateIdentity()
  const t = 1_800_000_000_000
  const order = { ...sampleOrder(), bidDeadline: t + MAX_BID_WINDOW_MS }
  assert.is(openMessage<OrderBody>(signMessage(tenant, MessageTag.ORDER, order, { createdAt: t }).bytes).body.bidDeadline, t + MAX_BID_WINDOW_MS)
  const far = err(() => signMessage(tenant, MessageTag.ORDER, { ...order, bidDeadline: t + MAX_BID_WINDOW_MS + 1 }, { createdAt: t }))
  assert.is(far.code, 'ERR_WIRE_SCHEMA')
  assert.is(far.path, 'body.bidDeadline')
  // and as a receiver sees it: a signer that wrote it anyway is refused
  const payload = encodeCbor([MessageTag.ORDER, WIRE_VERSION, t, new Uint8Array(16), { ...order, bidDeadline: t + 10 * 365 * 86_400_000 }])
  assert.is(err(() => openMessage(encodeCbor([payload, tenant.publicKey, tenant.sign(payload)]))).path, 'body.bidDeadline')
  const bid = sampleBid(new Uint8Array(32), { expiresAt: t + MAX_BID_LIFETIME_MS + 1 })
  assert.is(err(() => signMessage(provider, MessageTag.BID, bid, { createdAt: t })).path, 'body.expiresAt')
})

test.run()
