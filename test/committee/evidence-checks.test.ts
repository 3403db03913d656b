// Evidence proves itself only when both of its halves verify. The forged case is the one that
// frames an honest validator: its real finalize signature (every honest validator publishes one
// for each batch) paired with a made-up one for another header at the same height.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeCbor } from '../../src/wire/codec.ts'
import { checkEvidence, encodeFrame, finalizeBytes } from '../../src/committee/index.ts'
import type { CommitteeInfo } from '../../src/committee/index.ts'
import { cluster } from './harness.ts'

const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const X = new Uint8Array(32).fill(0x11)
const Y = new Uint8Array(32).fill(0x22)

test('finalize evidence with one half that does not verify is refused, whichever half it is', () => {
  const c = cluster(4)
  try {
    const info = c.genesis.info
    const committeeOf = (epoch: number): CommitteeInfo | undefined => epoch === 0 ? info : undefined
    const [v0, v1, v2] = c.members
    const fin = (validator: Uint8Array, header: Uint8Array, sig: Uint8Array): Uint8Array => encodeCbor({ epoch: 0, height: 5, header, validator, sig })
    const signed = (by: typeof v1, header: Uint8Array): Uint8Array => by.id.sign(finalizeBytes(info.chain, 0, 5, header))
    const real = fin(v1.id.publicKey, X, signed(v1, X))
    const made: Array<[Uint8Array, string]> = [
      [fin(v1.id.publicKey, Y, new Uint8Array(64)), 'zeros'],
      [fin(v1.id.publicKey, Y, signed(v2, Y)), 'v2\'s signature of Y under v1\'s key'],
      [fin(v1.id.publicKey, Y, signed(v1, X)), 'v1\'s signature of X claimed for Y'],
      [fin(v1.id.publicKey, Y, v1.id.sign(finalizeBytes(info.chain, 0, 6, Y))), 'v1\'s signature of Y at another height']
    ]
    c.boot(v0)
    for (const [forged, what] of made) {
      for (const f of [{ kind: 'finalize' as const, a: real, b: forged }, { kind: 'finalize' as const, a: forged, b: real }]) {
        assert.is(checkEvidence(f, info.chain, undefined, committeeOf), undefined, `${what} (${f.a === real ? 'second' : 'first'} half) proves nothing`)
        v0.node!.handleMessage('v2', encodeFrame({ kind: 'evidence', body: f }), v2.id.publicKey)
      }
    }
    assert.equal(v0.node!.evidence(), [], 'a validator keeps none of it')
    // v1 really signing both headers is evidence, checked alone and kept by the validator
    const both = { kind: 'finalize' as const, a: real, b: fin(v1.id.publicKey, Y, signed(v1, Y)) }
    const e = checkEvidence(both, info.chain, undefined, committeeOf)
    assert.ok(e != null)
    assert.is(hx(e.validator), hx(v1.id.publicKey))
    v0.node!.handleMessage('v2', encodeFrame({ kind: 'evidence', body: both }), v2.id.publicKey)
    assert.equal(v0.node!.evidence().map((x) => [x.kind, hx(x.validator), x.height]), [['finalize', hx(v1.id.publicKey), 5]])
  } finally {
    c.close()
  }
})

test.run()
