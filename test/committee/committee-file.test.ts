import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  buildCommittee, signCommitteeFile, addFileSignature, verifyCommitteeChain, verifyCommitteeFile, thresholdFor,
  committeeFileToJson, committeeFileFromJson, parseCommitteeFiles, CommitteeError
} from '../../src/committee/index.ts'
import type { CommitteeFile } from '../../src/committee/index.ts'
import { key, GENESIS_TIME } from './harness.ts'

const v = [0, 1, 2, 3, 4, 5, 6].map((i) => key(1, i))

function signed (info: CommitteeFile['info'], by: typeof v): CommitteeFile {
  let f: CommitteeFile = { info, signatures: [] }
  for (const k of by) f = addFileSignature(f, signCommitteeFile(info, k))
  return f
}

test('threshold is 2f+1 for n = 3f+1 and a safe quorum otherwise', () => {
  assert.equal([1, 2, 3, 4, 5, 6, 7, 10].map(thresholdFor), [1, 2, 3, 3, 4, 5, 5, 7])
  for (let n = 1; n <= 40; n++) {
    const q = thresholdFor(n); const f = n - q
    assert.ok(2 * q - n >= f + 1, `two quorums of ${n} overlap in an honest validator`)
    assert.is(f, Math.floor((n - 1) / 3))
  }
})

test('a genesis needs its threshold of its own signatures; a next epoch the previous one\'s', () => {
  const g = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: GENESIS_TIME, validators: v.slice(0, 4).map((k) => k.publicKey) })
  assert.throws(() => verifyCommitteeChain([signed(g, v.slice(0, 2))]), /2 valid signatures.*3 are required/)
  const genesis = signed(g, v.slice(0, 3))
  verifyCommitteeChain([genesis])
  const e1 = buildCommittee({ chain: g.chain, epoch: 1, startHeight: 50, genesisTime: GENESIS_TIME, previous: g.hash, validators: v.slice(0, 7).map((k) => k.publicKey) })
  assert.is(e1.threshold, 5)
  // signatures of the new members do not count for its own validity
  assert.throws(() => verifyCommitteeChain([genesis, signed(e1, [v[0], v[1], v[4], v[5], v[6]])]), /2 valid signatures of epoch 0/)
  const chain = [genesis, signed(e1, v.slice(0, 3))]
  assert.is(verifyCommitteeChain(chain).info.epoch, 1)
  // a file naming another previous, or skipping an epoch, breaks the chain
  const skip = buildCommittee({ chain: g.chain, epoch: 2, startHeight: 60, genesisTime: GENESIS_TIME, previous: g.hash, validators: v.slice(0, 4).map((k) => k.publicKey) })
  assert.throws(() => verifyCommitteeFile(signed(skip, v.slice(0, 3)), genesis), /does not follow/)
})

test('the JSON form round-trips, and edited readable fields are caught', () => {
  const g = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: GENESIS_TIME, validators: v.slice(0, 4).map((k) => k.publicKey) })
  const f = signed(g, v.slice(0, 4))
  const json = committeeFileToJson(f)
  const back = committeeFileFromJson(JSON.parse(JSON.stringify(json)))
  assert.equal(back.info.hash, f.info.hash)
  verifyCommitteeChain([back])
  assert.throws(() => committeeFileFromJson({ ...json, threshold: 2 }), /threshold: does not match the signed payload/)
  assert.throws(() => committeeFileFromJson({ ...json, validators: json.validators.slice(1) }), /validators: do not match/)
  assert.throws(() => committeeFileFromJson({ ...json, format: 'x' }), /format/)
  assert.throws(() => parseCommitteeFiles('{nope'), /not valid JSON/)
  assert.is(parseCommitteeFiles(JSON.stringify([json])).length, 1)
})

test('committees refuse repeated or unacceptable keys', () => {
  const k = v[0].publicKey
  assert.throws(() => buildCommittee({ epoch: 0, startHeight: 1, genesisTime: 0, validators: [k, k] }), (e: unknown) => e instanceof CommitteeError && /validators\[1\]: appears twice/.test(e.message))
  assert.throws(() => buildCommittee({ epoch: 0, startHeight: 1, genesisTime: 0, validators: [new Uint8Array(32)] }), /not an acceptable ed25519 public key/)
  assert.throws(() => buildCommittee({ epoch: 0, startHeight: 1, genesisTime: 0, validators: [] }), /1 to 128/)
})

test.run()
