// Members only: a validator answers members (and a candidate whose join request is ordered);
// anyone else may only hand in items, at a bounded rate. Proposals, votes and evidence signed by
// keys outside the committee are dropped before their signature is checked.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster, key, order } from './harness.ts'
import { encodeFrame, decodeFrame, CommitteeTag, Bounds, ChangeAction } from '../../src/committee/index.ts'
import type { VoteBody, ProposalBody } from '../../src/committee/index.ts'
import { signMessage } from '../../src/wire/envelope.ts'

const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('a peer outside the committee gets no answer to status, sync or want, and its other frames are dropped', () => {
  const c = cluster(4, { seed: 31 })
  try {
    for (const m of c.members) c.boot(m)
    c.run(600)
    const v0 = c.members[0]
    const stranger = key(7, 0)
    const before = (c.sent.get('v0') ?? []).length
    const sentTo = (): number => (c.sent.get('v0') ?? []).slice(before).length
    // what a member's status would be answered with (batches, messages of the height, fin frames)
    v0.node!.handleMessage('stranger', encodeFrame({ kind: 'status', body: { height: 1, round: 0, certified: 1 } }), stranger.publicKey)
    v0.node!.handleMessage('stranger', encodeFrame({ kind: 'sync', body: { from: 1 } }), stranger.publicKey)
    v0.node!.handleMessage('stranger', encodeFrame({ kind: 'want', body: { ids: [new Uint8Array(32)] } }), stranger.publicKey)
    v0.node!.handleMessage('stranger', encodeFrame({ kind: 'status', body: { height: 1, round: 0, certified: 1 } }))
    // v0's own traffic (broadcasts) goes on; nothing is sent to the stranger
    const frames = (c.sent.get('v0') ?? []).slice(before).map((d) => decodeFrame(d).kind)
    assert.not.ok(frames.includes('batches'), `no batches for a stranger: ${frames.join(',')}`)
    assert.ok(v0.node!.status().bounds.non_member >= 4, 'each refusal is counted')
    // the same status from a member is answered with the batches it lacks
    v0.node!.handleMessage('v1', encodeFrame({ kind: 'status', body: { height: 1, round: 0, certified: 1 } }), c.members[1].id.publicKey)
    assert.ok((c.sent.get('v0') ?? []).slice(before).map((d) => decodeFrame(d).kind).includes('batches'))
    void sentTo
  } finally {
    c.close()
  }
})

test('a candidate is answered to status once its join request is ordered, not before', () => {
  const c = cluster(4, { seed: 35 })
  try {
    const j = c.add('v4', key(1, 4))
    for (const m of c.members) c.boot(m)
    c.run(600)
    const v0 = c.members[0]
    const answered = (): boolean => {
      const before = (c.sent.get('v0') ?? []).length
      v0.node!.handleMessage('v4', encodeFrame({ kind: 'status', body: { height: 1, round: 0, certified: 1 } }), j.id.publicKey)
      return (c.sent.get('v0') ?? []).slice(before).some((d) => decodeFrame(d).kind === 'batches')
    }
    assert.not.ok(answered(), 'a key that has not asked to join is a stranger')
    j.node!.requestChange(ChangeAction.JOIN)
    c.run(300)
    assert.is(v0.node!.status().changes.length, 1, 'the join request is ordered')
    assert.ok(answered(), 'the candidate gets the batches it lacks')
  } finally {
    c.close()
  }
})

test('a stranger may hand in items, at a bounded rate', () => {
  const c = cluster(4, { seed: 32 })
  try {
    for (const m of c.members) c.boot(m)
    c.run(300)
    const v0 = c.members[0]
    const stranger = key(7, 1)
    const o = order(key(2, 0), c.now(), c.now() + 2000)
    v0.node!.handleMessage('stranger', encodeFrame({ kind: 'msg', body: o.bytes }), stranger.publicKey)
    assert.is(v0.node!.status().pool, 1, 'an order from a stranger is taken')
    // a flood beyond the burst is dropped before decoding
    const refusedBefore = v0.node!.status().bounds.non_member ?? 0
    for (let i = 0; i < Bounds.GUEST_FRAMES_BURST + 50; i++) v0.node!.handleMessage('stranger', encodeFrame({ kind: 'msg', body: o.bytes }), stranger.publicKey)
    assert.ok((v0.node!.status().bounds.non_member ?? 0) - refusedBefore >= 50, 'frames beyond the burst are refused')
  } finally {
    c.close()
  }
})

test('proposals and votes signed by non-members are dropped before their signature is checked or they are buffered', () => {
  const c = cluster(4, { seed: 33 })
  try {
    for (const m of c.members) c.boot(m)
    c.run(300)
    const v0 = c.members[0]
    const s0 = v0.node!.status()
    const outsider = key(7, 2)
    for (let i = 0; i < 100; i++) {
      const vote = signMessage<VoteBody>(outsider, CommitteeTag.VOTE, { epoch: 0, height: s0.height + (i % 2), round: 0, type: 'prevote', value: new Uint8Array(32).fill(i) })
      v0.node!.handleMessage('v1', encodeFrame({ kind: 'msg', body: vote.bytes }), c.members[1].id.publicKey)
    }
    const p = signMessage<ProposalBody>(outsider, CommitteeTag.PROPOSAL, { epoch: 0, height: s0.height + 1, round: 0, validRound: -1, header: new Uint8Array([1]), leaseRoot: new Uint8Array(32), items: [], lastCommit: [] })
    v0.node!.handleMessage('v1', encodeFrame({ kind: 'msg', body: p.bytes }), c.members[1].id.publicKey)
    const s1 = v0.node!.status()
    assert.is(s1.verified - s0.verified < 30, true, `no signature checks spent on them (${s1.verified - s0.verified} checks, the committee's own traffic included)`)
    assert.ok((s1.bounds.not_a_member_signer ?? 0) >= 100, 'they are counted')
  } finally {
    c.close()
  }
})

test('evidence is kept only when both halves are signed by a member of the epoch they name', () => {
  const c = cluster(4, { seed: 34 })
  try {
    for (const m of c.members) c.boot(m)
    c.run(300)
    const v0 = c.members[0]
    const vote = (who: typeof v0.id, value: number, height = 3): Uint8Array =>
      signMessage<VoteBody>(who, CommitteeTag.VOTE, { epoch: 0, height, round: 0, type: 'prevote', value: new Uint8Array(32).fill(value) }).bytes
    const outsider = key(7, 3)
    const before = (c.sent.get('v0') ?? []).length
    // a non-member's two conflicting votes: not evidence against anyone in this committee
    for (let i = 0; i < 50; i++) v0.node!.handleMessage('v1', encodeFrame({ kind: 'evidence', body: { kind: 'vote', a: vote(outsider, 2 * i + 1, 3 + i), b: vote(outsider, 2 * i + 2, 3 + i) } }), c.members[1].id.publicKey)
    assert.is(v0.node!.evidence().length, 0)
    assert.not.ok((c.sent.get('v0') ?? []).slice(before).some((d) => decodeFrame(d).kind === 'evidence'), 'and not re-broadcast')
    // a member's conflicting votes are evidence: kept, and gossiped
    const real = c.members[2].id
    v0.node!.handleMessage('v1', encodeFrame({ kind: 'evidence', body: { kind: 'vote', a: vote(real, 1), b: vote(real, 2) } }), c.members[1].id.publicKey)
    assert.is(v0.node!.evidence().length, 1)
    assert.is(hx(v0.node!.evidence()[0].validator), hx(real.publicKey))
    // each validator gets a bounded share: a flood against one does not crowd out another
    for (let i = 0; i < 40; i++) v0.node!.handleMessage('v1', encodeFrame({ kind: 'evidence', body: { kind: 'vote', a: vote(c.members[3].id, 2 * i + 1, 10 + i), b: vote(c.members[3].id, 2 * i + 2, 10 + i) } }), c.members[1].id.publicKey)
    const against = (k: Uint8Array): number => v0.node!.evidence().filter((e) => hx(e.validator) === hx(k)).length
    assert.is(against(c.members[3].id.publicKey), 16)
    v0.node!.handleMessage('v1', encodeFrame({ kind: 'evidence', body: { kind: 'vote', a: vote(real, 5, 4), b: vote(real, 6, 4) } }), c.members[1].id.publicKey)
    assert.is(against(real.publicKey), 2)
    // and from a stranger's connection evidence is not even read
    v0.node!.handleMessage('stranger', encodeFrame({ kind: 'evidence', body: { kind: 'vote', a: vote(real, 7, 5), b: vote(real, 8, 5) } }), outsider.publicKey)
    assert.is(against(real.publicKey), 2)
  } finally {
    c.close()
  }
})

test.run()
