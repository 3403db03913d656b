import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster, key, order, bid } from './harness.ts'
import type { Cluster, Member } from './harness.ts'
import { verifyCommitteeChain, verifyLeaseCertificate, ChangeAction, thresholdFor, decodeFrame } from '../../src/committee/index.ts'
import type { CommitteeFile } from '../../src/committee/index.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function validatorsNow (m: Member): string[] {
  const s = m.node?.status()
  return (m.node?.committeeAt(s?.height ?? 1).validators ?? []).map(hex)
}

function trade (c: Cluster, rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    const o = order(key(2, 0), c.now(), c.now() + 250)
    c.submit(o)
    c.submit(bid(key(3, i % 3), o, c.now(), [{ denom: 'uakt', amount: String(10 + i) }]))
    c.run(120)
  }
  c.run(600)
}

/** changes the committee: each `who` asks, every current validator approves */
function change (c: Cluster, who: Member[], action: typeof ChangeAction[keyof typeof ChangeAction]): void {
  const current = new Set(validatorsNow(c.members[0]))
  const requests = who.map((m) => (m.node as NonNullable<Member['node']>).requestChange(action))
  c.run(50)
  for (const m of c.members) {
    if (!current.has(hex(m.id.publicKey))) continue
    for (const r of requests) m.node?.approveChange(r.id)
  }
  c.run(1500)
}

test('membership changes 4 → 5 → 7 → 4, each epoch ordered by the committee and signed by the previous one', () => {
  const c = cluster(4, { seed: 11 })
  try {
    const joiners = [4, 5, 6].map((i) => c.add(`v${i}`, key(1, i)))
    for (const m of c.members) c.boot(m)
    c.run(300)
    trade(c, 3)

    const sizes: number[] = [validatorsNow(c.members[0]).length]
    change(c, [joiners[0]], ChangeAction.JOIN)
    sizes.push(validatorsNow(c.members[0]).length)
    trade(c, 3)
    change(c, [joiners[1], joiners[2]], ChangeAction.JOIN)
    sizes.push(validatorsNow(c.members[0]).length)
    trade(c, 3)
    change(c, joiners, ChangeAction.LEAVE)
    sizes.push(validatorsNow(c.members[0]).length)
    trade(c, 3)
    assert.equal(sizes, [4, 5, 7, 4])

    // every node, old or new, holds the same signed chain of committee files
    for (const m of c.members) {
      const files = m.node?.committeeFiles() ?? []
      assert.equal(files.map((f) => f.info.epoch), [0, 1, 2, 3], `${m.name} knows every epoch`)
      verifyCommitteeChain(files)
      assert.equal(validatorsNow(m), validatorsNow(c.members[0]), `${m.name} agrees on the committee`)
      assert.equal(files.map((f) => f.info.threshold), [4, 5, 7, 4].map(thresholdFor))
    }
    const files: CommitteeFile[] = c.members[0].node?.committeeFiles() ?? []
    // leases were made in every epoch, and each certificate checks against its epoch's file
    const epochs = new Set<number>()
    for (const l of c.members[0].leases) {
      epochs.add(l.certificate.epoch)
      assert.equal(verifyLeaseCertificate(l.certificate, files[l.certificate.epoch]), { ok: true })
    }
    assert.equal([...epochs].sort(), [0, 1, 2, 3])
    // the joiners took part: their signatures are in epoch 2 certificates
    const e2 = c.members[0].leases.filter((l) => l.certificate.epoch === 2)
    const signers = new Set(e2.flatMap((l) => l.certificate.signatures.map((s) => s.validator)))
    assert.ok([4, 5, 6].some((i) => signers.has(i)), 'a new member signed certificates')
    // all nodes agree on every lease
    const view = (m: Member): string => m.leases.map((l) => hex(l.lease.order) + hex(l.certificate.batch)).sort().join()
    for (const m of c.members.slice(1, 4)) assert.is(view(m), view(c.members[0]))
  } finally {
    c.close()
  }
})

test('a validator that lost every file signature of a new epoch still gets the signed file', () => {
  const c = cluster(4, { seed: 5 })
  try {
    const joiner = c.add('v4', key(1, 4))
    for (const m of c.members) c.boot(m)
    c.run(300)
    // the network loses every file signature sent to v1 until the epoch has started everywhere
    let losing = true
    let lost = 0
    c.lose = (_from, to, data) => {
      if (!losing || to !== 'v1') return false
      const isFsig = decodeFrame(data).kind === 'fsig'
      if (isFsig) lost++
      return isFsig
    }
    change(c, [joiner], ChangeAction.JOIN)
    assert.ok(lost >= 3, `v1 lost the others' signatures (${lost})`)
    assert.equal((c.members[1].node?.committeeFiles() ?? []).length, 1, 'without them v1 cannot complete the new file')
    losing = false
    c.run(1000)
    const files = c.members[1].node?.committeeFiles() ?? []
    assert.equal(files.map((f) => f.info.epoch), [0, 1], 'the repeated signatures completed it')
    verifyCommitteeChain(files)
  } finally {
    c.close()
  }
})

test('approvals below the threshold change nothing', () => {
  const c = cluster(4, { seed: 12 })
  try {
    const j = c.add('v4', key(1, 4))
    for (const m of c.members) c.boot(m)
    c.run(300)
    const r = (j.node as NonNullable<Member['node']>).requestChange(ChangeAction.JOIN)
    c.run(50)
    c.members[0].node?.approveChange(r.id)
    c.members[1].node?.approveChange(r.id)
    assert.throws(() => j.node?.approveChange(r.id), /only a validator/)
    c.run(1500)
    assert.is(validatorsNow(c.members[0]).length, 4)
    assert.is(c.members[0].node?.committeeFiles().length, 1)
  } finally {
    c.close()
  }
})

test.run()
