// The lock rules of the algorithm (L22, L28) against the schedule they exist for: four honest
// validators and selective message loss and delay (no Byzantine validator at all). Without the
// lock check one validator decides a batch and the three others another one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster } from './harness.ts'
import type { Member } from './harness.ts'
import { peek } from '../sim/peek.ts'

const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('a validator locked in round 1 does not prevote a value re-proposed from round 0: no fork', () => {
  // names by role; the proposer of height 1, round r is v[(1 + r) mod 4]
  // round 0: B (v1) proposes Y. A (v0) sees the polka and locks Y; B and C (v3) see it only
  //          after their prevote timeout (so they remember Y with validRound 0, unlocked); D (v2)
  //          never gets Y. Everyone precommits nil but A.
  // round 1: D proposes X. B, C and D lock X; D alone sees a quorum of precommits and decides X,
  //          then goes silent. A never sees the proposal X (it stays locked on Y, valid round 0).
  // round 2: C's proposal is lost: nil everywhere.
  // round 3: A re-proposes Y with validRound 0. B and C are locked on X since round 1 > 0 and
  //          MUST prevote nil; prevoting Y would decide Y at A, B and C.
  const c = cluster(4, { seed: 77 })
  const [A, B, D, C] = c.members
  const byName = (n: string): Member => c.members.find((m) => m.name === n)!
  const decided = new Map<string, string>()
  let dDecided = false
  try {
    for (const m of c.members) m.node?.on('batch', () => {})
    // judged by who signed a message, not who passed it on: validators relay what they hold
    const signerName = new Map(c.members.map((m) => [hx(m.id.publicKey), m.name]))
    c.lose = (via, to, data) => {
      if (via === D.name && dDecided) return true
      const p = peek(data)
      const body = p.proposal ?? p.vote
      if (body == null || body.height !== 1) return false
      const from = signerName.get(p.signer ?? '') ?? via
      const r = body.round
      const delay = (ms: number): true => {
        const src = byName(via)
        const dst = byName(to)
        c.sched.after(ms, () => dst.node?.handleMessage(via, data, src.id.publicKey))
        return true
      }
      if (p.proposal != null) {
        if (r === 0 && to === D.name) return true
        if (r === 1 && to === A.name) return true
        if (r === 2) return true
        return false
      }
      const type = p.vote!.type
      if (r === 0 && type === 'prevote') {
        if (from === C.name && to === B.name) return delay(600)
        if (from === B.name && to === C.name) return delay(600)
        if (from === C.name && to === D.name) return true
      }
      if (r === 1 && type === 'precommit') {
        if (from === D.name) return true
        if (from === C.name && to === B.name) return true
      }
      return false
    }
    for (const m of c.members) c.boot(m)
    for (const m of c.members) {
      m.node!.on('batch', (e) => {
        if (e.height !== 1) return
        decided.set(m.name, hx(e.header))
        if (m === D) dDecided = true
      })
    }
    c.run(8000)
    assert.ok(decided.has(D.name), 'the schedule played out: D decided height 1 alone')
    const values = new Set(decided.values())
    assert.is(values.size, 1, `one batch at height 1, not ${[...decided].map(([n, h]) => `${n}:${h.slice(0, 8)}`).join(' ')}`)
    for (const m of [A, B, C]) assert.ok(decided.has(m.name), `${m.name} decided height 1 too (the others go on without D)`)
  } finally {
    c.close()
  }
})

test.run()
