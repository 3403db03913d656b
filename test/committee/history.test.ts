// History that cannot be rewritten: a node adopts only a committee chain that extends the one it
// holds; a certificate counts only within its epoch; a validator index names a member or nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  buildCommittee, signCommitteeFile, addFileSignature, verifyCommitteeChain, verifyLeaseCertificate, linkCommitteeChain, extendsChain,
  leaseCertificate, finalizeBytes, merkleProofs, leaseLeaf, headerHash, committeeFileFromJson, committeeFileToJson, parseCommitteeFiles
} from '../../src/committee/index.ts'
import type { CommitteeFile, CommitteeInfo, Lease } from '../../src/committee/index.ts'
import type { LeaseCertificateBody } from '../../src/wire/index.ts'
import { key, GENESIS_TIME } from './harness.ts'

const v = [0, 1, 2, 3, 4, 5, 6].map((i) => key(1, i))

function signed (info: CommitteeInfo, by: typeof v): CommitteeFile {
  let f: CommitteeFile = { info, signatures: [] }
  for (const k of by) f = addFileSignature(f, signCommitteeFile(info, k))
  return f
}

const g = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: GENESIS_TIME, validators: v.slice(0, 4).map((k) => k.publicKey) })
const genesis = signed(g, v.slice(0, 4))
// epoch 1 (from height 100): validators 0, 1, 2, 4 (3 left, 4 joined); signed by epoch 0
const e1 = buildCommittee({ chain: g.chain, epoch: 1, startHeight: 100, genesisTime: GENESIS_TIME, previous: g.hash, validators: [0, 1, 2, 4].map((i) => v[i].publicKey) })
const chain = [genesis, signed(e1, v.slice(0, 3))]

/** a certificate for a made-up lease at `height`, signed by `signers` (indices into `committee`) */
function certificate (committee: CommitteeInfo, height: number, signers: number[], keys: typeof v): LeaseCertificateBody {
  const lease: Lease = { order: new Uint8Array(32).fill(1), bid: new Uint8Array(32).fill(2), tenant: v[5].publicKey, provider: v[6].publicKey, prices: [], height, index: 0 }
  const bodyHash = new Uint8Array(32).fill(9)
  const leaves = [leaseLeaf(lease)]
  const root = leaves[0]
  const header = headerHash(root, bodyHash)
  const sigs = signers.map((i) => ({ validator: i, sig: keys[i].sign(finalizeBytes(committee.chain, committee.epoch, height, header)) }))
  return leaseCertificate(lease, merkleProofs(leaves)[0], { epoch: committee.epoch, height, header, bodyHash, signatures: sigs })
}

test('a chain is adopted only if it extends the one held: a fork signed by a retired epoch\'s keys is refused', () => {
  verifyCommitteeChain(chain)
  // epoch 0's keys (retired, maybe leaked) sign another epoch 1: it verifies from the genesis...
  const fork1 = buildCommittee({ chain: g.chain, epoch: 1, startHeight: 100, genesisTime: GENESIS_TIME, previous: g.hash, validators: [0, 1, 2, 3].map((i) => v[i].publicKey) })
  const fork2 = buildCommittee({ chain: g.chain, epoch: 2, startHeight: 200, genesisTime: GENESIS_TIME, previous: fork1.hash, validators: [0, 1, 2, 3].map((i) => v[i].publicKey) })
  const fork = [genesis, signed(fork1, v.slice(0, 4)), signed(fork2, v.slice(0, 4))]
  verifyCommitteeChain(fork)
  // ...and is longer, but it does not extend the chain held
  assert.is(extendsChain(chain, fork), false)
  const e2 = buildCommittee({ chain: g.chain, epoch: 2, startHeight: 200, genesisTime: GENESIS_TIME, previous: e1.hash, validators: [0, 1, 2, 4].map((i) => v[i].publicKey) })
  assert.is(extendsChain(chain, [...chain, signed(e2, [v[0], v[1], v[4]])]), true)
  assert.is(extendsChain(chain, chain), false, 'the same chain is nothing new')
})

test('a certificate at or past its epoch\'s end is refused: retired keys certify nothing', () => {
  // epoch 0's validators sign a certificate at height 1,000,000, long after epoch 1 began at 100
  const late = certificate(g, 1_000_000, [0, 1, 2], v)
  assert.equal(verifyLeaseCertificate(late, genesis), { ok: true }, 'the epoch 0 file alone cannot tell')
  const byChain = verifyLeaseCertificate(late, chain)
  assert.is(byChain.ok, false)
  assert.match(String(byChain.reason), /at or past the end of epoch 0 \(the next epoch starts at 100\)/)
  // a file of a linked chain knows its end too (what the lease book holds)
  const linked = linkCommitteeChain(chain)
  assert.is(linked[0].until, 100)
  assert.is(verifyLeaseCertificate(late, linked[0]).ok, false)
  assert.is(verifyLeaseCertificate(certificate(g, 100, [0, 1, 2], v), linked[0]).ok, false, 'the first height of the next epoch is past the end')
  // within the epoch it is fine, by file and by chain
  const ok = certificate(g, 99, [0, 1, 2], v)
  assert.equal(verifyLeaseCertificate(ok, linked[0]), { ok: true })
  assert.equal(verifyLeaseCertificate(ok, chain), { ok: true })
  // epoch 1's certificates check against epoch 1's file
  const keys1 = [v[0], v[1], v[2], v[4]]
  assert.equal(verifyLeaseCertificate(certificate(e1, 150, [0, 1, 3], keys1), chain), { ok: true })
  assert.is(verifyLeaseCertificate(certificate(e1, 99, [0, 1, 3], keys1), chain).ok, false)
})

test('a validator index outside the committee is refused, not wrapped onto a member', () => {
  // index 5 mod 4 = 1: the signature is validator 1's, but index 5 names nobody
  const cert = certificate(g, 10, [0, 1, 2], v)
  const aliased = { ...cert, signatures: [cert.signatures[0], { validator: 5, sig: cert.signatures[1].sig }, cert.signatures[2]] }
  const r = verifyLeaseCertificate(aliased, genesis)
  assert.is(r.ok, false)
  assert.match(String(r.reason), /validator index 5 is not in the committee \(n=4\)/)
  // and a signature under its right index does count
  assert.equal(verifyLeaseCertificate(cert, genesis), { ok: true })
})

test('committee file signatures go through a schema', () => {
  const json = committeeFileToJson(genesis) as any
  assert.throws(() => committeeFileFromJson({ ...json, signatures: 'all of them' }), /signatures: must be a list/)
  assert.throws(() => committeeFileFromJson({ ...json, signatures: [{ ...json.signatures[0], extra: 1 }] }), /signatures\[0\]\.extra: unknown field/)
  assert.throws(() => committeeFileFromJson({ ...json, signatures: [json.signatures[0], json.signatures[0]] }), /signs twice/)
  assert.throws(() => committeeFileFromJson({ ...json, signatures: [7] }), /signatures\[0\]: must be an object/)
  assert.is(parseCommitteeFiles(JSON.stringify([json]))[0].signatures.length, 4)
})

test.run()
