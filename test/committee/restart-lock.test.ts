// A lock survives a restart: the validators restart from their stores (the real replay path)
// between the round they locked in and the next one, and a fresh proposal for another value
// meets the lock they recorded. Four honest validators, selective message loss only.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster } from './harness.ts'
import { peek } from '../sim/peek.ts'

const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('validators restarted after locking prevote nil on another value (their lock comes back from the store): no fork', () => {
  // the proposer of height 1, round r is v[(1 + r) mod 4]; A = v0, B = v1, D = v2, C = v3
  // round 0: B proposes X; D never gets it. A, B and C prevote X and lock it (recorded with their
  //          precommits); D prevotes nil. A alone gets a quorum of precommits (its own is lost
  //          to the others) and decides X, then goes silent.
  // round 1: D, which holds no lock, proposes a new batch Y; B and C restart from their stores
  //          while it is on its way. B and C MUST prevote nil (locked on
  //          X in round 0); if the restart forgot their lock, B, C and D prevote and decide Y.
  const c = cluster(4, { seed: 93 })
  const [A, B, D, C] = c.members
  const signerName = new Map(c.members.map((m) => [hx(m.id.publicKey), m.name]))
  const decided = new Map<string, string>()
  let aDecided = false
  let restarted = 0
  const watch = (m: typeof A): void => {
    m.node!.on('batch', (e) => {
      if (e.height !== 1) return
      decided.set(m.name, hx(e.header))
      if (m === A) aDecided = true
    })
  }
  try {
    c.lose = (via, to, data) => {
      if (via === A.name && aDecided) return true
      const p = peek(data)
      // proposals travel inside other frames too (answers to wants and syncs): none reach D
      if ((p.frame?.kind === 'have' || p.frame?.kind === 'batches') && to === D.name) return true
      const body = p.proposal ?? p.vote
      if (body == null || body.height !== 1) return false
      const from = signerName.get(p.signer ?? '') ?? via
      if (p.proposal?.round === 1 && from === D.name && (to === B.name || to === C.name)) {
        // B and C restart from their stores as D's proposal is under way, and get it afterwards
        const dst = to === B.name ? B : C
        if (restarted < 2) { restarted++; c.sched.after(1, () => { c.crash(dst); c.boot(dst); watch(dst) }) }
        c.sched.after(20, () => dst.node?.handleMessage(via, data, c.members.find((x) => x.name === via)!.id.publicKey))
        return true
      }
      if (body.round !== 0) return false
      if (p.proposal != null) return to === D.name
      return p.vote!.type === 'precommit' && from === A.name
    }
    for (const m of c.members) c.boot(m)
    for (const m of c.members) watch(m)
    c.run(8000)
    assert.ok(decided.has(A.name), 'the schedule played out: A decided height 1 in round 0')
    assert.is(restarted, 2, 'the schedule played out: B and C restarted')
    const values = new Set(decided.values())
    assert.is(values.size, 1, `one batch at height 1, not ${[...decided].map(([n, h]) => `${n}:${h.slice(0, 8)}`).join(' ')}`)
    for (const m of [B, C]) assert.ok(decided.has(m.name), `${m.name} decided height 1 too`)
  } finally {
    c.close()
  }
})

test.run()
