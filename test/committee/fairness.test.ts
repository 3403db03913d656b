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

test.run()
