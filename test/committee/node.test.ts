import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cluster, key, order, bid } from './harness.ts'
import type { Cluster } from './harness.ts'
import { openStore } from '../../src/store/index.ts'
import { decodeFrame, checkEvidence, CommitteeTag } from '../../src/committee/index.ts'
import type { VoteBody } from '../../src/committee/index.ts'
import { openMessage } from '../../src/wire/envelope.ts'

/** every vote a member sent, keyed by (height, round, type); fails on two different values */
function assertNoConflicts (c: Cluster, name: string): number {
  const seen = new Map<string, string>()
  const me = Buffer.from((c.members.find((m) => m.name === name) as Cluster['members'][0]).id.publicKey)
  for (const d of c.sent.get(name) ?? []) {
    const f = decodeFrame(d)
    if (f.kind !== 'msg') continue
    const m = openMessage<VoteBody>(f.body, { trusted: true })
    if (m.tag !== CommitteeTag.VOTE || !me.equals(m.signer)) continue // relayed votes of others
    const k = `${m.body.height}/${m.body.round}/${m.body.type}`
    const v = Buffer.from(m.body.value).toString('hex')
    const prev = seen.get(k)
    if (prev != null) assert.is(prev, v, `${name} signed two different ${k} votes`)
    seen.set(k, v)
  }
  return seen.size
}

test('a restarted validator re-sends what it signed and never signs a conflicting vote', () => {
  const dir = mkdtempSync(join(tmpdir(), 'souk-committee-'))
  const path = join(dir, 'v0.sqlite')
  const c = cluster(4, { seed: 3 })
  try {
    c.members[0].store.close()
    c.members[0].store = openStore({ path })
    for (const m of c.members) c.boot(m)
    c.run(400)
    // no quorum: v0 and v1 sign prevotes and precommits, nothing gets decided
    c.mute.add('v2'); c.mute.add('v3')
    const before = c.members[0].heights.length
    c.run(700)
    assert.is(c.members[0].heights.length, before, 'nothing decided without a quorum')
    // crash v0 mid-height, reopen its database file, boot it again, and heal
    c.crash(c.members[0])
    c.members[0].store.close()
    c.run(50)
    c.members[0].store = openStore({ path })
    c.boot(c.members[0])
    c.run(300)
    c.mute.clear()
    c.run(1500)
    assert.ok(assertNoConflicts(c, 'v0') > 0)
    for (const m of c.members) assert.is(m.node?.evidence().length, 0, `${m.name} holds no evidence against anyone`)
    const h = (m: typeof c.members[0]): number => m.node?.status().height ?? 0
    assert.ok(h(c.members[0]) > before + 5, 'the restarted validator takes part again')
    assert.ok(Math.abs(h(c.members[0]) - h(c.members[1])) <= 1)
  } finally {
    c.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('equivocating twins (two nodes, one key) leave evidence, which anyone can check', () => {
  const c = cluster(4, { seed: 5 })
  try {
    const twin = c.add('v0b', c.members[0].id)
    for (const m of c.members) c.boot(m)
    const tenant = key(2, 0)
    for (let i = 0; i < 5; i++) {
      const o = order(tenant, c.now(), c.now() + 300)
      c.submit(o)
      c.submit(bid(key(3, 0), o, c.now(), [{ denom: 'uakt', amount: '1' }]))
      c.run(200)
    }
    c.run(1500)
    const honest = c.members.filter((m) => m !== twin && m.name !== 'v0')
    const all = honest.flatMap((m) => m.node?.evidence() ?? [])
    assert.ok(all.length > 0, 'conflicting signatures were noticed')
    for (const e of all) {
      assert.equal(e.validator, c.members[0].id.publicKey)
      assert.ok(checkEvidence({ kind: e.kind, a: e.a, b: e.b }, c.genesis.info.chain) != null, 'evidence verifies on its own')
    }
    // evidence is gossiped: every honest validator ends up with what any one found
    const keys = (m: typeof honest[0]): string[] => (m.node?.evidence() ?? []).map((e) => e.key).sort()
    assert.equal(keys(honest[0]), keys(honest[1]))
    // safety holds: all honest validators agree and each order got at most one lease
    const leases = honest.map((m) => m.leases.map((l) => Buffer.from(l.certificate.batch).toString('hex') + Buffer.from(l.lease.order).toString('hex')).sort().join())
    assert.is(leases[0], leases[1])
    assert.is(leases[1], leases[2])
  } finally {
    c.close()
  }
})

test('status reports the height, epoch and verification counts', () => {
  const c = cluster(4, { seed: 7 })
  try {
    for (const m of c.members) c.boot(m)
    c.run(1000)
    const s = c.members[1].node?.status()
    assert.ok(s != null && s.height > 5)
    assert.is(s?.epoch, 0)
    assert.is(s?.validator, true)
    assert.ok((s?.verified ?? 0) > 0)
  } finally {
    c.close()
  }
})

test('a message the gossip layer verified is not checked again; raw bytes are checked once', () => {
  const c = cluster(4, { seed: 11 })
  try {
    for (const m of c.members) c.boot(m)
    c.run(200)
    const node = c.members[0].node!
    const before = node.status()
    const tenant = key(2, 1)
    const o = order(tenant, c.now(), c.now() + 500)
    // what the validator role does with a message gossip accepted
    assert.is(node.submit(o, { verified: true }).accepted, true)
    let s = node.status()
    assert.is(s.verified, before.verified)
    assert.is(s.verifyAdopted, before.verifyAdopted + 1)
    // the same envelope again, as bytes: a cache hit, still no signature check
    node.submit(o.bytes)
    s = node.status()
    assert.is(s.verified, before.verified)
    assert.is(s.verifyCacheHits, before.verifyCacheHits + 1)
    // a bid that arrives only as bytes is checked, once
    const b = bid(key(3, 1), o, c.now(), [{ denom: 'uakt', amount: '10' }])
    assert.is(node.submit(b.bytes).accepted, true)
    node.submit(b.bytes)
    assert.is(node.status().verified, before.verified + 1)
  } finally {
    c.close()
  }
})

test('a bid that can no longer count is refused before its signature is checked', () => {
  const c = cluster(4, { seed: 12 })
  try {
    for (const m of c.members) c.boot(m)
    c.run(200)
    const node = c.members[0].node!
    const provider = key(3, 2)
    const o = order(key(2, 2), c.now(), c.now() + 300)
    c.submit(o)
    c.run(100)
    const before = node.status()
    // in time: checked and taken
    assert.is(node.submit(bid(provider, o, c.now(), [{ denom: 'uakt', amount: '10' }]).bytes).accepted, true)
    assert.is(node.status().verified, before.verified + 1)
    // after the order's bid window closed (by this node's clock): refused unchecked, with the reason
    c.run(300)
    const mid = node.status()
    const late = node.submit(bid(provider, o, c.now(), [{ denom: 'uakt', amount: '11' }]).bytes)
    assert.is(late.accepted, false)
    assert.match(late.reason ?? '', /bid window closed|order is settled/)
    const s = node.status()
    assert.is(s.shed, mid.shed + 1)
    assert.is(s.verified, mid.verified, 'no signature check spent on it')
    assert.is(s.rejected, mid.rejected)
    // a bid that expired is refused the same way, also when gossip checked it already
    const o2 = order(key(2, 2), c.now(), c.now() + 10_000)
    c.submit(o2)
    const stale = bid(provider, o2, c.now() - 3_600_001, [{ denom: 'uakt', amount: '10' }])
    assert.match(node.submit(stale, { verified: true }).reason ?? '', /expired/)
    assert.is(node.status().shed, mid.shed + 2)
  } finally {
    c.close()
  }
})

test('an idle committee orders a batch per idle interval, and an order wakes it at once', () => {
  const c = cluster(4, { seed: 13, timing: { idleBatchIntervalMs: 2_000 } })
  try {
    for (const m of c.members) c.boot(m)
    c.run(500)
    const h0 = c.members[0].heights.length
    c.run(6_000)
    const idle = c.members[0].heights.length - h0
    assert.ok(idle >= 2 && idle <= 4, `about one batch per 2 s while idle, not one per 50 ms: ${idle} in 6 s`)
    assert.is(c.members[0].node!.status().idle, true, 'status says so')
    // an order arrives mid-pause: it is ordered within a batch interval or two, not 2 s later
    c.run(700)
    const before = c.members[0].heights.length
    const o = order(key(2, 3), c.now(), c.now() + 400)
    c.submit(o)
    c.run(300)
    assert.ok(c.members[0].heights.length > before, 'the order woke the committee')
    // the bid window keeps the committee at its working pace until the auction settles
    c.submit(bid(key(3, 3), o, c.now(), [{ denom: 'uakt', amount: '10' }]))
    assert.is(c.members[0].node!.status().idle, false, 'a bid in the pool ends any pause')
    c.run(1_000)
    for (const m of c.members) assert.is(m.leases.length, 1, `${m.name} made the lease`)
  } finally {
    c.close()
  }
})

test.run()
