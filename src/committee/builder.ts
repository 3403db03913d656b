// getValue() of the algorithm: the proposer's batch. Its committee time is the median of the
// last commit it carries; its items come from the pool (orders first, then the rest in arrival
// order), each allowed at that time. What it may choose (which items, which precommits) goes
// through the ProposerPolicy, so tests can play a proposer that chooses against the others.
import type { SignedMessage } from '../wire/envelope.ts'
import { MessageTag } from '../wire/constants.ts'
import type { OrderBody } from '../wire/messages/order.ts'
import type { BidBody } from '../wire/messages/bid.ts'
import { CommitteeTag, MAX_BATCH_ITEMS } from './constants.ts'
import type { ProposalBody, VoteBody, HeaderBody, ApproveBody } from './messages.ts'
import { PROPOSAL_ITEM_BUDGET } from './messages.ts'
import { batchValue, encodeHeader, idsHash, medianTime } from './batch.ts'
import type { BatchValue } from './batch.ts'
import type { Plan } from './ledger.ts'
import { equal, fromHex, hex } from './bytes.ts'
import type { Core } from './core.ts'

export class Builder {
  private readonly core: Core
  /** the precommits that decided the last height (this node's view; at least a quorum) */
  lastCommit: Array<SignedMessage<VoteBody>> = []

  constructor (core: Core) { this.core = core }

  /** the last commit (all precommits held for the head) and the committee time it gives */
  lastCommitFor (h: number): { votes: Array<SignedMessage<VoteBody>>, time: number } | undefined {
    const ledger = this.core.ledger
    if (h === 1) return { votes: [], time: ledger.genesis.genesisTime }
    const prev = ledger.committeeAt(h - 1)
    const votes = this.lastCommit.filter((v) => v.body.height === h - 1 && equal(v.body.value, ledger.head))
    if (votes.length < prev.threshold) return undefined
    return { votes, time: medianTime(votes.map((v) => v.createdAt)) }
  }

  /** builds (or re-proposes `valid`), persists, signs and sends a proposal; undefined if it cannot */
  propose (round: number, valid: BatchValue | null, validRound: number): BatchValue | undefined {
    const c = this.core
    const ledger = c.ledger
    const h = ledger.height + 1
    c.log.debug({ height: h, round }, `propose h=${h} r=${round} valid=${valid?.hashHex.slice(0, 8) ?? '-'}`)
    const stored = c.persist.signed('proposal', h, round)
    if (stored != null) {
      const m = c.verdicts.trusted(stored.bytes) as SignedMessage<ProposalBody>
      c.broadcast({ kind: 'msg', body: m.bytes })
      return batchValue(m)
    }
    const committee = ledger.committeeAt(h)
    let body: ProposalBody
    let plan: Plan | undefined
    if (valid != null) {
      body = { ...valid.msg.body, round, validRound }
      // the polka that makes the value acceptable to locked validators goes along with it
      for (const v of c.driver.cur?.prevotes.get(validRound)?.withValue(valid.hashHex) ?? []) c.broadcast({ kind: 'msg', body: v.bytes })
    } else {
      const lc = this.chooseLastCommit(h)
      if (lc == null) { c.log.debug({ height: h }, `cannot propose at ${h}: no last commit`); return undefined }
      const items = this.pickItems(lc.time, lc.votes)
      plan = ledger.plan(h, lc.time, items)
      const header: HeaderBody = {
        chain: ledger.chain,
        epoch: committee.epoch,
        height: h,
        parent: ledger.head,
        time: lc.time,
        proposer: c.signer.publicKey,
        lastCommit: idsHash(lc.votes.map((v) => v.id)),
        items: idsHash(items.map((m) => m.id)),
        itemCount: items.length,
        leaseCount: plan.leases.length,
        outcomes: plan.outcomes,
        next: plan.next?.hash ?? new Uint8Array(0)
      }
      body = { epoch: committee.epoch, height: h, round, validRound: -1, header: encodeHeader(header), leaseRoot: plan.leaseRoot, items: items.map((m) => m.id), lastCommit: lc.votes.map((v) => v.bytes) }
    }
    const m = c.sign<ProposalBody>(CommitteeTag.PROPOSAL, body)
    const v = batchValue(m)
    if (plan != null) c.checker.plans.set(v.hashHex, plan)
    c.driver.record({ kind: 'proposal', height: h, round, value: v.hash, bytes: m.bytes })
    c.verdicts.trusted(m.bytes)
    c.broadcast({ kind: 'msg', body: m.bytes })
    return v
  }

  /** the last commit to carry: the policy's choice when it names a quorum of distinct members, else all held */
  private chooseLastCommit (h: number): { votes: Array<SignedMessage<VoteBody>>, time: number } | undefined {
    const lc = this.lastCommitFor(h)
    const pick = this.core.proposer.lastCommit
    if (lc == null || pick == null || h === 1) return lc
    const prev = this.core.ledger.committeeAt(h - 1)
    const chosen = pick([...lc.votes], prev.threshold).filter((v) => lc.votes.includes(v))
    if (new Set(chosen.map((v) => hex(v.signer))).size !== chosen.length || chosen.length < prev.threshold) return lc
    return { votes: chosen, time: medianTime(chosen.map((v) => v.createdAt)) }
  }

  /**
   * Items for a new batch: orders first (a late order can only expire), then the rest in pool
   * order; fresh; bids only for orders final or in this batch whose window is still open (a bid
   * after the deadline cannot count, so it only takes room and is dropped).
   */
  private pickItems (time: number, lastCommit: Array<SignedMessage<VoteBody>>): SignedMessage[] {
    const c = this.core
    const ledger = c.ledger
    let budget = PROPOSAL_ITEM_BUDGET - lastCommit.reduce((s, v) => s + v.bytes.length + 3, 0)
    const out: SignedMessage[] = []
    const orders = new Map<string, number>()
    const dead: string[] = []
    // bids a closed auction's tallies made count, not yet ordered
    const needed = ledger.neededBids()
    for (const pass of [0, 1]) {
      for (const m of c.pool.values()) {
        if (out.length >= MAX_BATCH_ITEMS || budget < 40) break
        const isOrder = m.tag === MessageTag.ORDER
        if ((pass === 0) !== isOrder) continue
        if (ledger.itemProblem(m, time) != null) continue
        if (m.tag === MessageTag.BID) {
          const o = hex((m.body as BidBody).order)
          if (ledger.isClosing(o)) {
            if (needed.get(o)?.has(m.idHex) === true) { out.push(m); budget -= 35 } else if (ledger.talliesIn(o)) dead.push(m.idHex)
            // before the tallies are in, one may still name it: kept, not ordered
            continue
          }
          const deadline = ledger.deadlineOf(o) ?? orders.get(o)
          if (deadline == null) {
            // an order matched or expired already: the bid can never count
            if (ledger.isIncluded(o)) dead.push(m.idHex)
            continue
          }
          if (deadline <= time) { dead.push(m.idHex); continue }
        }
        // an approval counts only once its change is ordered: before that it would be wasted
        if (m.tag === CommitteeTag.APPROVE && !ledger.hasChange(hex((m.body as ApproveBody).change)) && !out.some((x) => x.idHex === hex((m.body as ApproveBody).change))) continue
        if (isOrder) orders.set(m.idHex, (m.body as OrderBody).bidDeadline)
        out.push(m)
        budget -= 35
      }
    }
    for (const id of dead) c.pool.delete(id)
    // needed bids that left the pool but that this node verified: carried all the same
    const carried = new Set(out.map((m) => m.idHex))
    for (const id of [...needed.values()].flatMap((ids) => [...ids])) {
      if (carried.has(id) || c.pool.has(id) || out.length >= MAX_BATCH_ITEMS || budget < 40) continue
      const m = c.verdicts.byMessageId(id)
      if (m == null || ledger.itemProblem(m, time) != null) continue
      out.push(m)
      carried.add(id)
      budget -= 35
    }
    // the needed bids this node lacks: asked for, for the next batch
    const lacking = [...needed.values()].flatMap((ids) => [...ids]).filter((id) => !c.pool.has(id) && !carried.has(id)).map(fromHex)
    if (lacking.length > 0) c.checker.prefetch(lacking)
    const pick = c.proposer.items
    if (pick == null) return out
    const allowed = new Set(out)
    return pick([...out], time).filter((m) => allowed.has(m))
  }
}
