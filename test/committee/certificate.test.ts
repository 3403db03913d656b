import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster, key, order, bid } from './harness.ts'
import { verifyLeaseCertificate, verifyCommitteeChain, committeeFileToJson, committeeFileFromJson } from '../../src/committee/index.ts'
import type { LeaseCertificateBody } from '../../src/wire/index.ts'
import { signMessage, openMessage } from '../../src/wire/envelope.ts'
import { MessageTag } from '../../src/wire/constants.ts'

function leasedCluster (): { cert: LeaseCertificateBody, c: ReturnType<typeof cluster>, bidId: Uint8Array } {
  const c = cluster(4)
  for (const m of c.members) c.boot(m)
  const tenant = key(2, 0)
  const o = order(tenant, c.now(), c.now() + 400)
  c.submit(o)
  const b1 = bid(key(3, 0), o, c.now() + 10, [{ denom: 'uakt', amount: '40' }])
  const b2 = bid(key(3, 1), o, c.now() + 10, [{ denom: 'uakt', amount: '30.5' }])
  const b3 = bid(key(3, 2), o, c.now() + 10, [{ denom: 'uakt', amount: '30.50000001' }])
  c.submit(b1); c.submit(b2); c.submit(b3)
  c.run(1500)
  const leases = c.members.map((m) => m.leases)
  for (const l of leases) assert.is(l.length, 1, 'every validator certifies the lease once')
  return { cert: leases[0][0].certificate, c, bidId: b2.id }
}

test('a lease certificate verifies offline with the committee file, with real ed25519', () => {
  const { cert, c, bidId } = leasedCluster()
  try {
    assert.equal(Buffer.from(cert.bid).toString('hex'), Buffer.from(bidId).toString('hex'), 'the lowest price wins')
    // the committee file goes through JSON and back, like a file on disk
    const file = committeeFileFromJson(JSON.parse(JSON.stringify(committeeFileToJson(c.genesis))))
    verifyCommitteeChain([file])
    assert.equal(verifyLeaseCertificate(cert, file), { ok: true })
    assert.ok(cert.signatures.length >= 3)
    // the certificate travels as a signed message too
    const env = signMessage(key(1, 0), MessageTag.LEASE_CERTIFICATE, cert)
    const back = openMessage<LeaseCertificateBody>(env.bytes, { expect: MessageTag.LEASE_CERTIFICATE })
    assert.equal(verifyLeaseCertificate(back.body, file), { ok: true })
  } finally {
    c.close()
  }
})

test('tampered certificates are refused', () => {
  const { cert, c } = leasedCluster()
  try {
    const file = c.genesis
    const flip = (b: Uint8Array): Uint8Array => { const x = Uint8Array.from(b); x[0] ^= 1; return x }
    const bad = (mut: Partial<LeaseCertificateBody>, why: RegExp): void => {
      const v = verifyLeaseCertificate({ ...cert, ...mut }, file)
      assert.is(v.ok, false)
      assert.match(String(v.reason), why)
    }
    bad({ bid: flip(cert.bid) }, /not included/)
    bad({ provider: flip(cert.provider) }, /not included/)
    bad({ order: flip(cert.order) }, /not included/)
    bad({ index: cert.index + 1 }, /not included|outside/)
    bad({ index: 2 ** cert.proof.length }, /outside/)
    bad({ proof: [] }, /header body hash/)
    bad({ signatures: cert.signatures.slice(0, 2) }, /threshold is 3/)
    bad({ signatures: [{ validator: 0, sig: flip(cert.signatures[0].sig) }, ...cert.signatures.slice(1)] }, /does not verify/)
    bad({ signatures: [{ validator: 9, sig: cert.signatures[0].sig }, ...cert.signatures.slice(1)] }, /not in the committee/)
    bad({ signatures: [cert.signatures[0], cert.signatures[0], cert.signatures[1]] }, /twice/)
    bad({ epoch: 1 }, /epoch/)
    bad({ height: cert.height + 1 }, /does not verify/)
    // a committee of other keys
    const other = cluster(4, { seed: 2 })
    const strangers = { ...other.genesis.info, validators: [key(9, 0), key(9, 1), key(9, 2), key(9, 3)].map((k) => k.publicKey) }
    assert.is(verifyLeaseCertificate(cert, strangers).ok, false)
    other.close()
  } finally {
    c.close()
  }
})

test.run()
