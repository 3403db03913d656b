// L28's condition against a Byzantine proposer that re-proposes a value with a valid round in
// which that value never had a polka. Four validators, one of them Byzantine (its key signs one
// forged proposal); the rest of the schedule is selective message loss.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster } from './harness.ts'
import { peek } from '../sim/peek.ts'
import { signMessage } from '../../src/wire/envelope.ts'
import type { SignedMessage } from '../../src/wire/envelope.ts'
import { encodeFrame, CommitteeTag } from '../../src/committee/index.ts'
import type { ProposalBody } from '../../src/committee/index.ts'

const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('a value re-proposed with a valid round in which it had no polka does not unlock anyone: no fork', () => {
  // the proposer of height 1, round r is v[(1 + r) mod 4]; A = v0, B = v1, D = v2 (Byzantine), C = v3
  // round 0: B proposes X; D never gets it. A, B and C prevote X and lock it; D prevotes nil.
  //          A alone gets a quorum of precommits (its own is lost to the others) and decides X,
//          then goes silent.
  // round 1: D proposes its own Y (D holds no lock). To B and C, D sends Y signed again with
  //          valid round 0: round 0 had 2f+1 prevotes, but for X, not Y. L28 MUST NOT apply
  //          (B and C locked X in round 0); if it does, B, C and D prevote and decide Y.
  const c = cluster(4, { seed: 91 })
  const [A, B, D, C] = c.members
  const signerName = new Map(c.members.map((m) => [hx(m.id.publicKey), m.name]))
  const decided = new Map<string, string>()
  let aDecided = false
  let forged = 0
  try {
    c.lose = (via, to, data) => {
      if (via === A.name && aDecided) return true
      const p = peek(data)
      // proposals travel inside other frames too (answers to wants and syncs): none reach D at round 0
      if (p.frame != null && p.frame.kind !== 'msg' && p.frame.kind !== 'status' && to === D.name) return true
      const body = p.proposal ?? p.vote
      if (body == null || body.height !== 1) return false
      const from = signerName.get(p.signer ?? '') ?? via
      const r = body.round
      if (p.proposal != null) {
        if (r === 0 && to === D.name) return true
        if (r === 1 && from === D.name && (to === B.name || to === C.name)) {
          // the Byzantine proposer: the same batch, signed again with a valid round of its choosing
          const m = p.msg as SignedMessage<ProposalBody>
          const re = signMessage<ProposalBody>(D.id, CommitteeTag.PROPOSAL, { ...m.body, validRound: 0 }, { createdAt: m.createdAt, nonce: new Uint8Array(16).fill(9) })
          forged++
          const dst = c.members.find((x) => x.name === to)!
          c.sched.after(2, () => dst.node?.handleMessage(D.name, encodeFrame({ kind: 'msg', body: re.bytes }), D.id.publicKey))
          return true
        }
        return false
      }
      if (r === 0 && p.vote!.type === 'precommit' && from === A.name) return true
      return false
    }
    for (const m of c.members) c.boot(m)
    for (const m of c.members) {
      m.node!.on('batch', (e) => {
        if (e.height !== 1) return
        decided.set(m.name, hx(e.header))
        if (m === A) aDecided = true
      })
    }
    c.run(8000)
    assert.ok(decided.has(A.name), 'the schedule played out: A decided height 1 in round 0')
    assert.ok(forged > 0, 'the schedule played out: D re-proposed its batch with a valid round')
    const values = new Set(decided.values())
    assert.is(values.size, 1, `one batch at height 1, not ${[...decided].map(([n, h]) => `${n}:${h.slice(0, 8)}`).join(' ')}`)
    for (const m of [B, C]) assert.ok(decided.has(m.name), `${m.name} decided height 1 too`)
  } finally {
    c.close()
  }
})

test.run()
