// The rules that make a batch final and its header true, against forged input fed straight to a
// validator: a commit (2f+1 precommits of one round, distinct members) makes a synced batch final;
// a proposal's last commit (a quorum too) gives its committee time, the median of its timestamps;
// the header names the last final batch as its parent; the lease root is recomputed from the
// items; a finalize signature counts toward a certificate only when it verifies. Each forged input
// is built with the validators' real keys and refused for the reason its rule gives; the honest
// input beside it, one thing different, is accepted, so every assertion can fail both ways.
// Four validators: f = 1, 2f+1 = 3.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { signMessage } from '../../src/wire/envelope.ts'
import type { SignedMessage } from '../../src/wire/envelope.ts'
import type { Identity } from '../../src/identity/identity.ts'
import { openStore } from '../../src/store/index.ts'
import type { Store } from '../../src/store/index.ts'
import { committeeNode, committeePersistence, buildCommittee, signCommitteeFile, encodeFrame, decodeFrame, finalizeBytes, leaseLeaf, merkleRoot, Ledger, CommitteeTag, VoteType } from '../../src/committee/index.ts'
import type { CommitteeFile, CommitteeNode, ProposalBody, VoteBody, HeaderBody, BatchEvent, CertifiedEvent } from '../../src/committee/index.ts'
import { encodeHeader, idsHash, medianTime, batchValue } from '../../src/committee/batch.ts'
import { Scheduler } from '../sim/scheduler.ts'
import { peek } from '../sim/peek.ts'
import { key, FAST, GENESIS_TIME } from './harness.ts'

const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const v = [0, 1, 2, 3].map((i) => key(1, i))
const info = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: GENESIS_TIME, validators: v.map((k) => k.publicKey) })
const genesis: CommitteeFile = { info, signatures: v.map((k) => signCommitteeFile(info, k)) }

let nonce = 0
const opts = (createdAt: number): { createdAt: number, nonce: Uint8Array } => {
  const b = new Uint8Array(16); new DataView(b.buffer).setUint32(0, ++nonce); return { createdAt, nonce: b }
}

function precommit (by: Identity, height: number, round: number, value: Uint8Array, createdAt: number): SignedMessage<VoteBody> {
  return signMessage<VoteBody>(by, CommitteeTag.VOTE, { epoch: 0, height, round, type: VoteType.PRECOMMIT, value }, opts(createdAt))
}

/**
 * An empty batch on top of `ledger` (a mirror of the validator's), proposed by `proposer` with
 * `lastCommit`; its committee time is the median of the last commit, as the header rule asks,
 * unless `forged` names another, so only what a test forges can be wrong with it.
 */
function proposal (ledger: Ledger, proposer: Identity, lastCommit: Array<SignedMessage<VoteBody>>, forged: { time?: number, parent?: Uint8Array, leaseRoot?: Uint8Array } = {}): SignedMessage<ProposalBody> {
  const h = ledger.height + 1
  const time = forged.time ?? (h === 1 ? GENESIS_TIME : medianTime(lastCommit.map((m) => m.createdAt)))
  const plan = ledger.plan(h, time, [])
  const header: HeaderBody = {
    chain: ledger.chain,
    epoch: 0,
    height: h,
    parent: forged.parent ?? ledger.head,
    time,
    proposer: proposer.publicKey,
    lastCommit: idsHash(lastCommit.map((m) => m.id)),
    items: idsHash([]),
    itemCount: 0,
    leaseCount: 0,
    outcomes: plan.outcomes,
    next: plan.next?.hash ?? new Uint8Array(0)
  }
  const body: ProposalBody = { epoch: 0, height: h, round: 0, validRound: -1, header: encodeHeader(header), leaseRoot: forged.leaseRoot ?? plan.leaseRoot, items: [], lastCommit: lastCommit.map((m) => m.bytes) }
  return signMessage<ProposalBody>(proposer, CommitteeTag.PROPOSAL, body, opts(time + 1))
}

/** the value (header hash) a proposal puts to the vote */
const valueOf = (p: SignedMessage<ProposalBody>): Uint8Array => batchValue(p).hash

interface Validator {
  node: CommitteeNode
  sched: Scheduler
  /** every line it logged */
  log: string[]
  /** the same, with the level each was logged at */
  logged: Array<{ level: Level, msg: string, fields: Record<string, unknown> }>
  /** the level a line was logged at, undefined when it was not */
  levelOf: (msg: string) => Level | undefined
  /** every frame it sent */
  sent: Uint8Array[]
  batches: BatchEvent[]
  certified: CertifiedEvent[]
  /** a frame from validator i, as its transport would deliver it */
  from: (i: number, frame: Parameters<typeof encodeFrame>[0]) => void
  run: (ms: number) => void
  /** the votes it signed at (height, round, type): value hex, '' for nil */
  votes: (height: number, round: number, type: string) => string[]
  close: () => void
}

type Level = 'debug' | 'info' | 'warn' | 'error'

/** validator v0 with an empty store (or the one given, which it leaves open) and no peers but what the test hands it */
function validator (given?: Store): Validator {
  const sched = new Scheduler()
  const store = given ?? openStore({ path: ':memory:' })
  const log: string[] = []
  const logged: Validator['logged'] = []
  const at = (level: Level) => (fields: Record<string, unknown>, msg: string): void => { log.push(msg); logged.push({ level, msg, fields }) }
  const sent: Uint8Array[] = []
  const batches: BatchEvent[] = []
  const certified: CertifiedEvent[] = []
  const now = (): number => GENESIS_TIME + Math.floor(sched.now)
  let alive = true
  const node = committeeNode({ committee: genesis, ...FAST })({
    signer: v[0],
    store,
    clock: { now, setTimer: (ms, fn) => sched.after(ms, () => { if (alive) fn() }) },
    transport: { broadcast: (d) => sent.push(d), send: (_to, d) => sent.push(d) },
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  })
  node.on('batch', (e) => batches.push(e))
  node.on('certified', (e) => certified.push(e))
  node.start()
  return {
    node,
    sched,
    log,
    logged,
    levelOf: (msg) => logged.find((l) => l.msg === msg)?.level,
    sent,
    batches,
    certified,
    from: (i, frame) => node.handleMessage(`v${i}`, encodeFrame(frame), v[i].publicKey),
    run: (ms) => sched.run(sched.now + ms, () => {}),
    votes: (height, round, type) => sent.map(peek).filter((p) => p.vote != null && p.signer === hx(v[0].publicKey) && p.vote.height === height && p.vote.round === round && p.vote.type === type).map((p) => p.value ?? ''),
    close: () => { alive = false; node.stop(); if (given == null) store.close() }
  }
}

const sync = (p: SignedMessage<ProposalBody>, commit: Array<SignedMessage<VoteBody>>): Parameters<typeof encodeFrame>[0] =>
  ({ kind: 'batches', body: { batches: [{ proposal: p.bytes, commit: commit.map((m) => m.bytes) }] } })

// height 1, proposed by v1 (the proposer of height 1, round 0): the batch every test starts from
const ledger1 = new Ledger(info)
const p1 = proposal(ledger1, v[1], [])
const h1 = valueOf(p1)

test('a synced batch whose commit gathers 2f+1 precommits from two rounds is not applied', () => {
  const val = validator()
  try {
    // v1 and v2 precommit in round 0, v3 in round 1: three members, but no round has a quorum
    // (round 0 may have decided nothing, and another value may be decided in a later round)
    for (const commit of [
      [precommit(v[1], 1, 0, h1, GENESIS_TIME + 10), precommit(v[2], 1, 0, h1, GENESIS_TIME + 11), precommit(v[3], 1, 1, h1, GENESIS_TIME + 12)],
      [precommit(v[3], 1, 1, h1, GENESIS_TIME + 12), precommit(v[1], 1, 0, h1, GENESIS_TIME + 10), precommit(v[2], 1, 0, h1, GENESIS_TIME + 11)]
    ]) {
      const before = val.log.length
      val.from(1, sync(p1, commit))
      assert.equal(val.batches, [], 'a commit mixing rounds makes nothing final')
      assert.is(val.node.status().height, 1)
      assert.ok(val.log.slice(before).includes('synced batch 1 lacks a commit'), `refused for its commit: ${val.log.slice(before).join(' | ')}`)
      assert.is(val.levelOf('synced batch 1 lacks a commit'), 'warn', 'a catch-up refusal is a warning')
    }
    // the honest commit: the same three validators, all in round 1
    val.from(1, sync(p1, [precommit(v[1], 1, 1, h1, GENESIS_TIME + 10), precommit(v[2], 1, 1, h1, GENESIS_TIME + 11), precommit(v[3], 1, 1, h1, GENESIS_TIME + 12)]))
    assert.equal(val.batches.map((b) => [b.height, hx(b.header)]), [[1, hx(h1)]], 'a commit of one round applies the batch')
    assert.is(val.node.status().height, 2)
  } finally {
    val.close()
  }
})

/** a fresh validator that has applied height 1 (by catch-up, with an honest commit); the commit and a mirror ledger */
function atHeight2 (): { val: Validator, commit: Array<SignedMessage<VoteBody>>, ledger: Ledger, leader: Identity } {
  const val = validator()
  const commit = [1, 2, 3, 0].map((i) => precommit(v[i], 1, 0, h1, GENESIS_TIME + 10 + i))
  val.from(1, sync(p1, commit.slice(0, 3)))
  assert.is(val.node.status().height, 2, 'height 1 applied')
  const ledger = new Ledger(info)
  ledger.apply(ledger.plan(1, GENESIS_TIME, []), h1)
  const leader = v.find((k) => hx(k.publicKey) === val.node.status().leader)!
  assert.ok(leader != null && leader !== v[0], 'the proposer of height 2 is another validator')
  return { val, commit, ledger, leader }
}

/** what validator v0 prevotes in round 0 of height 2 on a proposal from the leader */
function prevoteOn (make: (at: ReturnType<typeof atHeight2>) => SignedMessage<ProposalBody>): { prevotes: string[], value: string, invalid: string[] } {
  const at = atHeight2()
  try {
    const p = make(at)
    at.val.from(v.indexOf(at.leader), { kind: 'msg', body: p.bytes })
    at.val.run(100)
    return { prevotes: at.val.votes(2, 0, VoteType.PREVOTE), value: hx(valueOf(p)), invalid: at.val.log.filter((l) => l.includes('is invalid')) }
  } finally {
    at.val.close()
  }
}

test('a proposal whose last commit holds 2f valid precommits gets a nil prevote', () => {
  // the forged proposal: two real precommits for batch 1 (its proposer takes the committee time
  // from fewer timestamps than a quorum, so f Byzantine validators could set it alone)
  const forged = prevoteOn(({ commit, ledger, leader }) => proposal(ledger, leader, commit.slice(0, 2)))
  assert.equal(forged.prevotes, [''], 'prevote nil in round 0')
  assert.ok(forged.invalid.some((l) => l.endsWith('is invalid: last commit has 2 precommits; 3 needed')), forged.invalid.join(' | '))
  // the honest one: the same, with a third precommit
  const honest = prevoteOn(({ commit, ledger, leader }) => proposal(ledger, leader, commit.slice(0, 3)))
  assert.equal(honest.prevotes, [honest.value], 'prevote for the batch in round 0')
  assert.equal(honest.invalid, [])
})

test('a proposal whose header time is not the median of its last commit gets a nil prevote', () => {
  // the proposer moves committee time an hour ahead (it would expire orders and settle auctions
  // early); the last commit itself is a full, honest quorum
  const median = medianTime([GENESIS_TIME + 11, GENESIS_TIME + 12, GENESIS_TIME + 13])
  for (const time of [median + 3_600_000, median + 1, median - 1]) {
    const forged = prevoteOn(({ commit, ledger, leader }) => proposal(ledger, leader, commit.slice(0, 3), { time }))
    assert.equal(forged.prevotes, [''], `prevote nil on time ${time - median} ms off the median`)
    assert.ok(forged.invalid.some((l) => l.endsWith(`is invalid: time ${time}, the last commit gives ${median}`)), forged.invalid.join(' | '))
  }
  const honest = prevoteOn(({ commit, ledger, leader }) => proposal(ledger, leader, commit.slice(0, 3)))
  assert.equal(honest.prevotes, [honest.value], 'prevote for the batch whose time is the median')
  assert.equal(honest.invalid, [])
})

test('a proposal naming another parent than the last final batch gets a nil prevote', () => {
  // another batch of height 1 (one v2 might propose in round 1, never decided) and no batch; the last
  // commit is the honest quorum for the real batch 1, so only the parent is forged
  const other = valueOf(proposal(new Ledger(info), v[2], []))
  assert.not.equal(hx(other), hx(h1))
  for (const parent of [other, new Uint8Array(32)]) {
    const forged = prevoteOn(({ commit, ledger, leader }) => proposal(ledger, leader, commit.slice(0, 3), { parent }))
    assert.equal(forged.prevotes, [''], `prevote nil on parent ${hx(parent).slice(0, 8)}`)
    assert.ok(forged.invalid.some((l) => l.endsWith('is invalid: wrong parent')), forged.invalid.join(' | '))
  }
  const honest = prevoteOn(({ commit, ledger, leader }) => proposal(ledger, leader, commit.slice(0, 3)))
  assert.equal(honest.prevotes, [honest.value], 'prevote for the batch on top of batch 1')
})

test('a proposal whose lease root is not the matching result gets a nil prevote', () => {
  // an empty batch claiming a lease nobody matched: once final, its finalize signatures would
  // certify that lease (a certificate covers the header hash, and so the lease root)
  const madeUp = leaseLeaf({ order: new Uint8Array(32).fill(1), bid: new Uint8Array(32).fill(2), tenant: key(2, 0).publicKey, provider: key(3, 0).publicKey })
  for (const leaseRoot of [merkleRoot([madeUp]), new Uint8Array(32).fill(7)]) {
    const forged = prevoteOn(({ commit, ledger, leader }) => proposal(ledger, leader, commit.slice(0, 3), { leaseRoot }))
    assert.equal(forged.prevotes, [''], 'prevote nil')
    assert.ok(forged.invalid.some((l) => l.endsWith('is invalid: lease root differs from the matching result')), forged.invalid.join(' | '))
  }
  const honest = prevoteOn(({ commit, ledger, leader }) => proposal(ledger, leader, commit.slice(0, 3)))
  assert.equal(honest.prevotes, [honest.value], 'prevote for the batch with the recomputed lease root')
})

test('finalize signatures that do not check make no certificate', () => {
  const { val } = atHeight2()
  try {
    // v0 signed its own finalize for batch 1 when it applied it; two more make the certificate
    assert.equal(val.certified, [])
    const fin = (i: number, sig: Uint8Array): Parameters<typeof encodeFrame>[0] => ({ kind: 'fin', body: { epoch: 0, height: 1, header: h1, validator: v[i].publicKey, sig } })
    const good = (i: number, header = h1): Uint8Array => v[i].sign(finalizeBytes(info.chain, 0, 1, header))
    const other = valueOf(proposal(new Ledger(info), v[2], []))
    const forged: Array<[number, Uint8Array, string]> = [
      [1, new Uint8Array(64), 'zeros'],
      [1, good(2), 'v2\'s signature under v1\'s key'],
      [2, good(2, other), 'v2\'s signature of another header'],
      [2, v[2].sign(finalizeBytes(info.chain, 0, 2, h1)), 'v2\'s signature for another height'],
      [1, v[1].sign(finalizeBytes(new Uint8Array(32).fill(3), 0, 1, h1)), 'v1\'s signature on another chain']
    ]
    for (const [i, sig, what] of forged) {
      val.from(i, fin(i, sig))
      val.run(10)
      assert.equal(val.certified, [], `${what} does not count toward the certificate`)
    }
    assert.equal(val.node.evidence(), [], 'and none is taken for evidence')
    // the real signatures of v1 and v2 do count, though forged ones came first under their names
    val.from(1, fin(1, good(1)))
    assert.equal(val.certified, [], 'two of three')
    val.from(2, fin(2, good(2)))
    assert.equal(val.certified.map((e) => [e.height, hx(e.header), e.signatures]), [[1, hx(h1), 3]])
  } finally {
    val.close()
  }
})

test('a synced batch whose last commit holds 2f precommits is not applied, even with a commit of its own', () => {
  const { val, commit, ledger, leader } = atHeight2()
  try {
    const forged = proposal(ledger, leader, commit.slice(0, 2))
    const hf = valueOf(forged)
    val.from(1, sync(forged, [1, 2, 3].map((i) => precommit(v[i], 2, 0, hf, GENESIS_TIME + 100 + i))))
    assert.is(val.node.status().height, 2, 'batch 2 is not applied')
    assert.ok(val.log.some((l) => l.includes('is invalid: last commit has 2 precommits; 3 needed')), `refused for its last commit: ${val.log.filter((l) => l.includes('invalid')).join(' | ')}`)
    assert.ok(val.log.includes('batch 2 has 2f+1 precommits but does not check here'))
    assert.ok(val.logged.filter((l) => l.msg.includes('is invalid')).every((l) => l.level === 'warn'), 'an invalid proposal is a warning')
    assert.is(val.levelOf('batch 2 has 2f+1 precommits but does not check here'), 'error', 'a decided batch this node cannot check is an error')
    // the honest batch, its last commit a quorum, is applied
    const honest = proposal(ledger, leader, commit.slice(0, 3))
    const hh = valueOf(honest)
    val.from(1, sync(honest, [1, 2, 3].map((i) => precommit(v[i], 2, 0, hh, GENESIS_TIME + 100 + i))))
    assert.equal(val.batches.map((b) => [b.height, hx(b.header)]), [[1, hx(h1)], [2, hx(hh)]])
  } finally {
    val.close()
  }
})

test('a validator that signed a finalize for another header at a height refuses to sign again, and warns', () => {
  // a restarted validator sends the finalize signatures of its last batches again, from what it
  // signed before; should its store say it signed another header at that height, it must not sign
  // this one too
  const other = valueOf(proposal(new Ledger(info), v[2], []))
  const finalizes = (val: Validator): string[] => val.sent.map((d) => decodeFrame(d)).flatMap((f) => f.kind === 'fin' && hx(f.body.validator) === hx(v[0].publicKey) ? [hx(f.body.header)] : [])
  const refusal = 'refusing to sign finalize for height 1: signed another header before'
  for (const signedOther of [false, true]) {
    const store = openStore({ path: ':memory:' })
    try {
      const first = validator(store)
      first.from(1, sync(p1, [1, 2, 3].map((i) => precommit(v[i], 1, 0, h1, GENESIS_TIME + 10 + i))))
      assert.is(first.node.status().height, 2, 'batch 1 applied')
      assert.equal(finalizes(first), [hx(h1)], 'and its finalize signed')
      first.close()
      if (signedOther) {
        store.db.prepare('UPDATE committee_signed SET value = ?, bytes = ? WHERE kind = \'finalize\' AND height = 1').run(other, v[0].sign(finalizeBytes(info.chain, 0, 1, other)))
      }
      const again = validator(store)
      try {
        assert.is(again.node.status().height, 2, 'batch 1 replayed')
        if (signedOther) {
          assert.equal(finalizes(again), [], 'no finalize for batch 1 goes out')
          assert.is(again.levelOf(refusal), 'warn', `the refusal is a warning: ${again.log.join(' | ')}`)
        } else {
          assert.equal(finalizes(again), [hx(h1)], 'the finalize signed before is sent again')
          assert.is(again.levelOf(refusal), undefined, 'nothing to refuse')
        }
      } finally {
        again.close()
      }
    } finally {
      store.close()
    }
  }
})

test.run()
