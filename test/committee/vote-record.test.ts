// What a validator signed stays signed across a restart: asked for a vote in a (height, round,
// type) it already voted in, it re-sends the vote it recorded, never a new signature (with another
// value that would be equivocation, the double vote its store exists to prevent). Replay restores
// the step from the same records, so the node's own consensus does not ask twice; this checks the
// driver's contract directly, on a validator restarted from its real store.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { signMessage } from '../../src/wire/envelope.ts'
import type { SignedMessage } from '../../src/wire/envelope.ts'
import { openStore } from '../../src/store/index.ts'
import type { Store } from '../../src/store/index.ts'
import { committeeNode, buildCommittee, signCommitteeFile, encodeFrame, Ledger, CommitteeTag, VoteType } from '../../src/committee/index.ts'
import type { CommitteeFile, CommitteeNode, ProposalBody, VoteBody, HeaderBody } from '../../src/committee/index.ts'
import { encodeHeader, idsHash, batchValue } from '../../src/committee/batch.ts'
import type { Core } from '../../src/committee/core.ts'
import { committeePersistence } from '../../src/committee/persist.ts'
import { Scheduler } from '../sim/scheduler.ts'
import { peek } from '../sim/peek.ts'
import { key, FAST, GENESIS_TIME } from './harness.ts'

const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const v = [0, 1, 2, 3].map((i) => key(1, i))
const info = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: GENESIS_TIME, validators: v.map((k) => k.publicKey) })
const genesis: CommitteeFile = { info, signatures: v.map((k) => signCommitteeFile(info, k)) }

/** v1's (honest, empty) batch for height 1, round 0 */
function batch1 (): SignedMessage<ProposalBody> {
  const ledger = new Ledger(info)
  const plan = ledger.plan(1, GENESIS_TIME, [])
  const header: HeaderBody = {
    chain: ledger.chain, epoch: 0, height: 1, parent: ledger.head, time: GENESIS_TIME, proposer: v[1].publicKey,
    lastCommit: idsHash([]), items: idsHash([]), itemCount: 0, leaseCount: 0, outcomes: plan.outcomes, next: plan.next?.hash ?? new Uint8Array(0)
  }
  return signMessage<ProposalBody>(v[1], CommitteeTag.PROPOSAL, { epoch: 0, height: 1, round: 0, validRound: -1, header: encodeHeader(header), leaseRoot: plan.leaseRoot, items: [], lastCommit: [] }, { createdAt: GENESIS_TIME, nonce: new Uint8Array(16).fill(1) })
}

/** validator v0 on `store`, with its own clock; what it sends is kept in `sent` */
function boot (store: Store, sched: Scheduler, sent: Uint8Array[]): CommitteeNode {
  const node = committeeNode({ committee: genesis, ...FAST })({
    signer: v[0],
    store,
    clock: { now: () => GENESIS_TIME + Math.floor(sched.now), setTimer: (ms, fn) => sched.after(ms, fn) },
    transport: { broadcast: (d) => sent.push(d), send: (_to, d) => sent.push(d) }
  })
  node.start()
  return node
}

const ownVotes = (sent: Uint8Array[], type: string): Array<{ id: string, value: string }> =>
  sent.map(peek).filter((p) => p.vote != null && p.signer === hx(v[0].publicKey) && p.vote.height === 1 && p.vote.round === 0 && p.vote.type === type).map((p) => ({ id: p.msg!.idHex, value: p.value ?? '' }))

test('a restarted validator asked again for a vote it recorded re-sends that vote instead of signing another', () => {
  const store = openStore({ path: ':memory:' })
  const sched = new Scheduler()
  try {
    // first life: v0 prevotes v1's batch in round 0, then stops
    const p1 = batch1()
    const sent: Uint8Array[] = []
    const first = boot(store, sched, sent)
    sched.run(sched.now + 60, () => {})
    first.handleMessage('v1', encodeFrame({ kind: 'msg', body: p1.bytes }), v[1].publicKey)
    sched.run(sched.now + 10, () => {})
    const signed = ownVotes(sent, VoteType.PREVOTE)
    assert.equal(signed.map((x) => x.value), [hx(batchValue(p1).hash)], 'the first life prevoted the batch')
    first.stop()

    // second life on the same store, without the proposal: asked for a nil prevote in the same
    // slot (what a validator whose step came back wrong would do), it re-sends the recorded one
    const again: Uint8Array[] = []
    const second = boot(store, new Scheduler(), again)
    const driver = (second as unknown as { c: Core }).c.driver
    const before = again.length
    const m = driver.host().vote(VoteType.PREVOTE, 0, null) as SignedMessage<VoteBody>
    assert.is(m.idHex, signed[0].id, 'the recorded prevote, not a new signature')
    assert.is(hx(m.body.value), hx(batchValue(p1).hash))
    assert.equal(ownVotes(again.slice(before), VoteType.PREVOTE), [signed[0]], 'and that is what goes out')
    // a slot it has not signed in gets a new vote
    const pc = driver.host().vote(VoteType.PRECOMMIT, 0, null) as SignedMessage<VoteBody>
    assert.is(hx(pc.body.value), '', 'a nil precommit, signed now')
    assert.equal(ownVotes(again, VoteType.PRECOMMIT), [{ id: pc.idHex, value: '' }])
    assert.equal(second.evidence(), [])
    second.stop()
  } finally {
    store.close()
  }
})

test('a committee file signature stored under an epoch number equal to the height does not derail a restart', () => {
  const store = openStore({ path: ':memory:' })
  const sched = new Scheduler()
  try {
    // epoch 1's file signed before the node went down: its row is (file, height = 1, round 0)
    committeePersistence(store).recordSigned({ kind: 'file', height: 1, round: 0, value: new Uint8Array(32).fill(7), bytes: new Uint8Array(64).fill(9) })
    const sent: Uint8Array[] = []
    const node = boot(store, sched, sent)
    sched.run(sched.now + 60, () => {})
    const p1 = batch1()
    node.handleMessage('v1', encodeFrame({ kind: 'msg', body: p1.bytes }), v[1].publicKey)
    sched.run(sched.now + 10, () => {})
    assert.equal(ownVotes(sent, VoteType.PREVOTE).map((x) => x.value), [hx(batchValue(p1).hash)], 'height 1 goes on from round 0 as usual')
    node.stop()
  } finally {
    store.close()
  }
})

test.run()
