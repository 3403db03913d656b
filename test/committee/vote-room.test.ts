// A Byzantine validator that fills its per-round room of vote values at a peer with junk before
// sending its real vote cannot make that peer ignore the real vote when the peer needs it. Four
// validators: D Byzantine (its key signs the junk), C's link to A lost (an honest fault).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster } from './harness.ts'
import { peek } from '../sim/peek.ts'
import { signMessage } from '../../src/wire/envelope.ts'
import { encodeFrame, CommitteeTag } from '../../src/committee/index.ts'
import { VOTE_ROOM } from '../../src/committee/consensus.ts'
import type { VoteBody } from '../../src/committee/index.ts'

const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')

test('a real vote still counts after junk filled its validator\'s room: the peer that needs it decides', () => {
  // A = v0, B = v1 (proposer of height 1, round 0), D = v2 (Byzantine), C = v3.
  // Nothing C signs reaches A, nor any catch-up answer: A can decide height 1 only on votes of
  // A, B and D. Before each of its votes, D sends A junk votes (random values) of the same height,
  // round and type, as many as a validator has room for. Its real prevote and precommit MUST
  // still count at A (A's and B's votes for the same value, f+1 of them, back them); if they do
  // not, A sees neither the polka nor the commit, and stays at height 1 while the others go on.
  const c = cluster(4, { seed: 95 })
  const [A, B, D, C] = c.members
  const signerName = new Map(c.members.map((m) => [hx(m.id.publicKey), m.name]))
  const junked = new Set<string>()
  let junk = 0
  let nonce = 0
  try {
    c.lose = (via, to, data) => {
      if (to !== A.name) return false
      const p = peek(data)
      if (p.frame?.kind === 'have' || p.frame?.kind === 'batches') return true
      const from = signerName.get(p.signer ?? '')
      if (from === C.name) return true
      const v = p.vote
      if (from !== D.name || v == null || via !== D.name) return false
      const k = `${v.height}/${v.round}/${v.type}`
      if (junked.has(k)) return false
      junked.add(k)
      // the junk first, then the real vote, once A holds the votes that back it (the others'
      // relays on their timeouts bring it the same way when it came too early)
      for (let i = 0; i < VOTE_ROOM; i++) {
        const body: VoteBody = { ...v, value: new Uint8Array(32).fill(0xa0 + i).map((x, j) => x ^ (j === 0 ? v.round : 0)) }
        const n = new Uint8Array(16); new DataView(n.buffer).setUint32(0, ++nonce)
        const m = signMessage<VoteBody>(D.id, CommitteeTag.VOTE, body, { createdAt: p.msg!.createdAt, nonce: n })
        junk++
        c.sched.after(1 + i, () => A.node?.handleMessage(D.name, encodeFrame({ kind: 'msg', body: m.bytes }), D.id.publicKey))
      }
      c.sched.after(40, () => A.node?.handleMessage(D.name, data, D.id.publicKey))
      return true
    }
    for (const m of c.members) c.boot(m)
    c.run(4000)
    assert.ok(junk >= 2 * VOTE_ROOM, 'the schedule played out: D sent A junk before its prevote and its precommit')
    for (const m of [B, C, D]) assert.ok(m.heights.includes(1), `${m.name} decided height 1`)
    assert.ok(A.heights.includes(1), `A decided height 1 on the votes of A, B and D (it is at ${A.node?.status().height ?? '?'}, B at ${B.node?.status().height ?? '?'})`)
  } finally {
    c.close()
  }
})

test.run()
