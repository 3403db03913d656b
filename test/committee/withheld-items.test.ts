// A Byzantine validator that is first to pass a proposal on and then withholds the items it
// names must not cost the round: the node also asks the other peers that sent it the batch
// (the proposer among them) instead of waiting out a retry period longer than the propose timeout;
// and it asks no more than three of them (f+1 in a larger committee) before its retry asks everyone.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster, key, order } from './harness.ts'
import { peek } from '../sim/peek.ts'
import { MessageTag } from '../../src/wire/index.ts'
import type { Cluster } from './harness.ts'

/** v0 prevoted v1's one-item batch of height 1 in round 0, not nil */
function prevotedTheBatch (c: Cluster, why: string): void {
  const [v0, v1] = c.members
  const prevotes = (c.sent.get(v0.name) ?? []).map(peek).filter((p) => p.vote?.type === 'prevote' && p.vote.height === 1 && p.vote.round === 0 && p.signer === Buffer.from(v0.id.publicKey).toString('hex'))
  assert.ok(prevotes.length > 0, 'v0 prevoted in round 0')
  assert.not.equal(prevotes[0].value, '', `v0 prevoted the batch, not nil: ${why}`)
  const batch = (c.sent.get(v1.name) ?? []).map(peek).find((p) => p.proposal?.height === 1 && p.proposal.round === 0)
  assert.is(batch?.proposal?.items.length, 1, 'the schedule played out: the batch holds the order')
}

test('a relayer that withholds a batch\'s items does not make an honest validator prevote nil', () => {
  const c = cluster(4, { seed: 11 })
  const [v0, v1, v2] = c.members
  try {
    // v1 proposes height 1 in round 0; v2 is Byzantine and sends nothing of its own
    c.lose = (from, to, data) => {
      if (from === v2.name) return true
      const p = peek(data)
      // v0 never gets the order by gossip: it must ask for it
      if (to === v0.name && p.msg?.tag === MessageTag.ORDER) return true
      if (from === v1.name && to === v0.name && p.proposal?.height === 1 && p.proposal.round === 0) {
        // v2 relays the proposal to v0 first; v1's own copy arrives 20 ms later
        c.sched.after(1, () => v0.node?.handleMessage(v2.name, data, v2.id.publicKey))
        c.sched.after(20, () => v0.node?.handleMessage(v1.name, data, v1.id.publicKey))
        return true
      }
      return false
    }
    for (const m of c.members) c.boot(m)
    const o = order(key(5, 0), c.now(), c.now() + 5_000)
    v1.node!.submit(o)
    c.run(1_000)
    prevotedTheBatch(c, 'it got the order from the proposer in time')
  } finally {
    c.close()
  }
})

test('the missing items are asked of a batch\'s first three senders only, then of everyone on the retry', () => {
  const c = cluster(7, { seed: 12 })
  const [v0, v1, v2, v3, v4] = c.members
  const relayers = c.members.slice(2)
  // each 'want' v0 sends: to whom, when
  const wants: Array<{ to: string, at: number }> = []
  try {
    c.lose = (from, to, data) => {
      const p = peek(data)
      if (from === v0.name && p.frame?.kind === 'want') wants.push({ to, at: c.now() })
      if (to !== v0.name) return false
      if (p.msg?.tag === MessageTag.ORDER) return true
      // every relayer withholds: it answers no request for items
      if (relayers.some((r) => r.name === from) && p.frame?.kind === 'have') return true
      if (from === v1.name && p.proposal?.height === 1 && p.proposal.round === 0) {
        // five relayers pass the proposal on first, 1 ms apart; the proposer's own copy comes last
        relayers.forEach((r, i) => c.sched.after(1 + i, () => v0.node?.handleMessage(r.name, data, r.id.publicKey)))
        c.sched.after(30, () => v0.node?.handleMessage(v1.name, data, v1.id.publicKey))
        return true
      }
      return false
    }
    for (const m of c.members) c.boot(m)
    v1.node!.submit(order(key(5, 0), c.now(), c.now() + 5_000))
    c.run(1_000)
    assert.ok(wants.length > 0, 'v0 asked for the order it lacks')
    // the retry asks everyone at once: six wants in the same millisecond
    const retryAt = wants.find((w) => wants.filter((x) => x.at === w.at).length >= 6)?.at ?? Infinity
    const before = [...new Set(wants.filter((w) => w.at < retryAt).map((w) => w.to))].sort()
    assert.equal(before, [v2.name, v3.name, v4.name].sort(), `asked before the retry: ${before.join(', ')}`)
    assert.ok(retryAt < Infinity, 'the retry asked everyone, the proposer among them')
  } finally {
    c.close()
  }
})

test('in a committee of ten, three withholding relayers first do not cost the round: f+1 senders are asked', () => {
  // n = 10 tolerates f = 3: three Byzantine relayers can all pass a batch on before any honest node
  const c = cluster(10, { seed: 13 })
  const [v0, v1, v2, v3, v4] = c.members
  const byzantine = [v2, v3, v4]
  try {
    c.lose = (from, to, data) => {
      if (byzantine.some((b) => b.name === from) && to !== v0.name) return true
      if (to !== v0.name) return false
      const p = peek(data)
      // v0 never gets the order by gossip: it must ask for it
      if (p.msg?.tag === MessageTag.ORDER) return true
      // the Byzantine relayers answer no request for items
      if (byzantine.some((b) => b.name === from)) return p.frame?.kind === 'have' || p.proposal != null
      if (from === v1.name && p.proposal?.height === 1 && p.proposal.round === 0) {
        // the three relay v1's proposal to v0 first, 1 ms apart; v1's own copy is the fourth
        byzantine.forEach((b, i) => c.sched.after(1 + i, () => v0.node?.handleMessage(b.name, data, b.id.publicKey)))
        c.sched.after(20, () => v0.node?.handleMessage(v1.name, data, v1.id.publicKey))
        return true
      }
      return false
    }
    for (const m of c.members) c.boot(m)
    v1.node!.submit(order(key(5, 0), c.now(), c.now() + 5_000))
    c.run(1_000)
    prevotedTheBatch(c, 'it asked the proposer, the fourth sender, in time')
  } finally {
    c.close()
  }
})

test.run()
