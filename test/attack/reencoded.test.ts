// One message, many IDs: a signer (or anyone re-wrapping an envelope) writes the same payload in
// another valid CBOR encoding. Every such encoding must be refused, so a message has one ID.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { Encoder } from 'cbor-x'
import { openMessage, signMessage, encodeCbor, MessageTag, WireError, sha256, toHex } from '../../src/wire/index.ts'
import type { OrderBody } from '../../src/wire/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { sampleOrder } from '../helpers/messages.ts'
import { rawCbor, rawMap, rawItems } from '../helpers/raw-cbor.ts'

const tenant = generateIdentity()

function envelope (payload: Uint8Array): Uint8Array {
  return rawCbor([payload, tenant.publicKey, tenant.sign(payload)])
}

test('every other encoding of a signed order is refused; only the canonical one opens', () => {
  const createdAt = Date.now()
  const nonce = new Uint8Array(randomBytes(16))
  const body: OrderBody = sampleOrder({ bidDeadline: createdAt + 5_000 })
  const honest = signMessage<OrderBody>(tenant, MessageTag.ORDER, body, { createdAt, nonce })
  // the header items exactly as the honest payload has them; only the body is written otherwise
  const head = rawItems(honest.payload).slice(0, 4)
  const g = body.groups[0]
  // the deadline as this node's own encoder writes it, so that only the variation differs
  const b = { ...body, bidDeadline: { raw: encodeCbor(body.bidDeadline) } }
  const groupEntries = Object.entries(g) as Array<[string, unknown]>
  const variants: Record<string, Uint8Array> = {
    'long integer heads': rawCbor([...head, b], { width: 4 }),
    'indefinite lengths': rawCbor([...head, b], { indefinite: true }),
    'keys in another order': rawCbor([...head, { bidDeadline: b.bidDeadline, manifestHash: b.manifestHash, groups: b.groups }], { unsorted: true }),
    'keys in canonical order': rawCbor([...head, { groups: b.groups, bidDeadline: b.bidDeadline, manifestHash: b.manifestHash }], { unsorted: true }),
    'a repeated key': rawCbor([...head, rawMap([['groups', b.groups], ['bidDeadline', 1], ['manifestHash', b.manifestHash], ['bidDeadline', b.bidDeadline]])]),
    'a repeated key deep inside': rawCbor([...head, { ...b, groups: [rawMap([...groupEntries, ['name', g.name]])] }]),
    'byte strings as typed arrays (tag 64)': rawCbor([...head, b], { bytesTag: 64 }),
    'integers as floats': rawCbor([...head, { ...body, bidDeadline: { raw: rawCbor(body.bidDeadline, { floats: true }) } }]),
    'chunked strings': rawCbor([...head, body], { chunked: true }),
    'cbor-x records': rawCbor([...head, { raw: new Uint8Array(new Encoder({ useRecords: true, mapsAsObjects: true, tagUint8Array: false }).encode(body)) }]),
    'cbor-x shared references': rawCbor([...head, { raw: new Uint8Array(new Encoder({ structuredClone: true, mapsAsObjects: true, tagUint8Array: false }).encode({ ...body, groups: [g, g] })) }])
  }
  const ids = new Set([honest.idHex])
  const outcome: Record<string, string> = {}
  for (const [name, payload] of Object.entries(variants)) {
    assert.not.equal(toHex(sha256(payload)), honest.idHex, name)
    try {
      const m = openMessage(envelope(payload), { expect: MessageTag.ORDER })
      ids.add(m.idHex)
      outcome[name] = `accepted as ${m.idHex.slice(0, 12)}`
    } catch (err: any) {
      outcome[name] = err instanceof WireError ? err.code : `untyped ${String(err)}`
    }
  }
  // exactly one of the two key orders is the canonical one; the other is refused
  const accepted = Object.entries(outcome).filter(([, o]) => o.startsWith('accepted'))
  const wrong = Object.entries(outcome).filter(([n, o]) => o !== 'ERR_WIRE_NON_CANONICAL' && o !== 'ERR_WIRE_MALFORMED' && !(n === 'keys in canonical order' && o === `accepted as ${honest.idHex.slice(0, 12)}`))
  void accepted
  assert.equal(wrong, [], `one order, ${ids.size} IDs: ${JSON.stringify(outcome, null, 1)}`)
  assert.is(openMessage(honest.bytes).idHex, honest.idHex)
})

test('a relay cannot re-wrap an envelope either', () => {
  const m = signMessage(tenant, MessageTag.ORDER, sampleOrder())
  const wrappings = [
    rawCbor([m.payload, m.signer, m.sig], { width: 4 }),
    rawCbor([m.payload, m.signer, m.sig], { indefinite: true }),
    rawCbor([m.payload, m.signer, m.sig], { bytesTag: 64 }),
    rawCbor([m.payload, m.signer, m.sig], { chunked: true })
  ]
  const outcome = wrappings.map((w) => {
    try {
      return `opened as ${openMessage(w).idHex.slice(0, 12)}`
    } catch (err: any) {
      return err instanceof WireError ? err.code : `untyped ${String(err)}`
    }
  })
  assert.equal(outcome.filter((o) => o !== 'ERR_WIRE_NON_CANONICAL' && o !== 'ERR_WIRE_MALFORMED'), [], outcome.join(', '))
})

test.run()
