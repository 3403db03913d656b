// Fair auctions (protocols/committee.md §6): a Byzantine proposer that censors bids and tallies
// and picks, among the precommits it holds, the subset that sets the committee time to its
// liking, changes neither who wins an auction nor whether it settles.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster, key, order, bid } from './harness.ts'
import type { Cluster } from './harness.ts'
import { CommitteeTag, medianTime } from '../../src/committee/index.ts'
import type { ProposerPolicy } from '../../src/committee/index.ts'
import { MessageTag } from '../../src/wire/constants.ts'
import { rng } from '../sim/rng.ts'
import { tieKey } from '../../src/committee/matching.ts'
import { compare } from '../../src/committee/bytes.ts'

const providers = [0, 1, 2].map((i) => key(3, i))
const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')

interface Tamper { bidsLeftOut: number, talliesLeftOut: number, timesMoved: number }

/** v1's choices: leave out the cheapest provider's bids and every tally, and push the committee time to an extreme */
function censor (seed: number, t: Tamper): ProposerPolicy {
  const R = rng(seed)
  return {
    lastCommit: (votes, threshold) => {
      const sorted = [...votes].sort((a, b) => a.createdAt - b.createdAt)
      const pick = R.chance(0.5) ? sorted.slice(0, threshold) : sorted.slice(sorted.length - threshold)
      if (medianTime(pick.map((v) => v.createdAt)) !== medianTime(votes.map((v) => v.createdAt))) t.timesMoved++
      return pick
    },
    items: (candidates) => candidates.filter((m) => {
      if (m.tag === MessageTag.BID && hx(m.signer) === hx(providers[0].publicKey)) { t.bidsLeftOut++; return false }
      if (m.tag === CommitteeTag.TALLY) { t.talliesLeftOut++; return false }
      return true
    })
  }
}

/**
 * Twelve auctions, one after the other; provider 0 always bids lowest. The bids reach every
 * validator 45 ms before the deadline: in time, but late enough that one proposer's batch may be
 * the last before the deadline.
 */
function auctions (c: Cluster): string[] {
  const outcome = new Map<string, string>()
  for (const m of c.members) m.node?.on('lease', (e) => outcome.set(hx(e.lease.order), `lease:${providers.findIndex((p) => hx(p.publicKey) === hx(e.lease.provider))}`))
  for (const m of c.members) m.node?.on('expired', (e) => outcome.set(hx(e.order), `expired:${e.code}`))
  const ids: string[] = []
  for (let i = 0; i < 12; i++) {
    const window = 300 + i * 37
    const o = order(key(2, i), c.now(), c.now() + window)
    ids.push(o.idHex)
    c.submit(o)
    c.run(window - 45)
    providers.forEach((p, k) => c.submit(bid(p, o, c.now(), [{ denom: 'uakt', amount: String(10 + 10 * k) }])))
    c.run(200)
  }
  c.run(3000)
  return ids.map((id) => outcome.get(id) ?? 'unsettled')
}

test('a censoring, timestamp-picking proposer changes neither the winners nor whether the auctions settle', () => {
  for (const seed of [21]) {
    const honest = cluster(4, { seed })
    const tamper: Tamper = { bidsLeftOut: 0, talliesLeftOut: 0, timesMoved: 0 }
    const byz = cluster(4, { seed, proposers: { v1: censor(seed, tamper) } })
    try {
      for (const m of honest.members) honest.boot(m)
      for (const m of byz.members) byz.boot(m)
      honest.run(300); byz.run(300)
      const a = auctions(honest)
      const b = auctions(byz)
      assert.ok(tamper.bidsLeftOut > 0 && tamper.talliesLeftOut > 0, `the proposer did leave things out (${JSON.stringify(tamper)})`)
      assert.ok(tamper.timesMoved > 0, `the proposer did move the committee time (${JSON.stringify(tamper)})`)
      assert.equal(a, a.map(() => 'lease:0'), `honest run, seed ${seed}: the cheapest bid wins every auction`)
      assert.equal(b, a, `seed ${seed}: every auction ends the same under the Byzantine proposer`)
      // every validator agrees on every lease
      const view = (cl: Cluster, i: number): string => cl.members[i].leases.map((l) => hx(l.lease.order) + hx(l.lease.bid)).sort().join()
      for (let i = 1; i < 4; i++) assert.is(view(byz, i), view(byz, 0))
    } finally {
      honest.close(); byz.close()
    }
  }
})

test('more bids tied at the lowest price than a tally names: the seeded tie-break still picks among all of them', () => {
  // a tally names four bids per order; ten providers ask the same price. If the tallies cut the
  // ties by a key known in advance, a provider could grind its bid's nonce into every tally, and
  // the bid the closing batch's seed favours could be cut before matching ever saw it.
  const tied = Array.from({ length: 10 }, (_, i) => key(4, i))
  const c = cluster(4, { seed: 31 })
  const batches: Array<{ time: number, header: Uint8Array }> = []
  const won = new Map<string, string>()
  try {
    for (const m of c.members) c.boot(m)
    c.members[0].node?.on('batch', (e) => batches.push({ time: e.time, header: e.header }))
    c.members[0].node?.on('lease', (e) => won.set(hx(e.lease.order), hx(e.lease.bid)))
    c.run(300)
    const auctions: Array<{ o: ReturnType<typeof order>, bids: Array<ReturnType<typeof bid>> }> = []
    for (let i = 0; i < 5; i++) {
      const o = order(key(2, 40 + i), c.now(), c.now() + 300)
      c.submit(o)
      c.run(150)
      const bids = tied.map((p) => bid(p, o, c.now(), [{ denom: 'uakt', amount: '50' }]))
      for (const b of bids) c.submit(b)
      auctions.push({ o, bids })
      c.run(400)
    }
    c.run(3000)
    for (const [i, { o, bids }] of auctions.entries()) {
      // the auction closed in the first batch whose committee time reached the deadline; its header seeds the tie-break
      const closing = batches.find((b) => b.time >= o.body.bidDeadline)
      assert.ok(closing != null, `auction ${i} closed`)
      const best = [...bids].sort((a, b) => compare(tieKey(o.id, a.id, closing.header), tieKey(o.id, b.id, closing.header)))[0]
      assert.is(won.get(o.idHex), best.idHex, `auction ${i}: the bid the seed favours among all ten wins`)
    }
  } finally {
    c.close()
  }
})

test.run()
