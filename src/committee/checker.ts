// valid(v) of the algorithm for a batch (protocols/committee.md §4.1): the header's chain, epoch,
// height, parent and proposer; the last commit (a quorum of the previous height's precommits for
// the parent, one round, distinct members) and the committee time it gives; the items (each
// known, fresh and not ordered before) and the outcome recomputed from them. A batch naming items
// this node lacks is 'pending' until they arrive: they are asked for with `want`.
import type { SignedMessage } from '../wire/envelope.ts'
import { ASKED_SENDERS, CommitteeTag, MAX_WANT, VoteType } from './constants.ts'
import type { VoteBody } from './messages.ts'
import { idsHash, medianTime } from './batch.ts'
import type { BatchValue } from './batch.ts'
import type { Validity } from './consensus.ts'
import type { Plan } from './ledger.ts'
import type { CommitteeInfo } from './committee-file.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'
import { equal, fromHex, hex } from './bytes.ts'
import type { Core } from './core.ts'
import { errorMessage } from '../util/index.ts'

/** a precheck refusing a precommit whose signer is not a validator of `committee` (before its signature is checked) */
export function memberOf (committee: CommitteeInfo): (m: SignedMessage) => CommitteeError | undefined {
  return (m) => committee.index.has(hex(m.signer)) ? undefined : new CommitteeError(CommitteeErrorCode.NOT_MEMBER, 'a precommit by a key outside the committee')
}

export class Checker {
  private readonly core: Core
  /** per batch value: its outcome, or 'invalid' */
  readonly plans = new Map<string, Plan | 'invalid'>()
  /** item id → when last asked for (0: not yet) */
  readonly missing = new Map<string, number>()
  /** per batch value: the items it names that this node still lacks */
  private readonly waiting = new Map<string, Set<string>>()
  /** per batch value: the first few peers that sent it (asked first for what it names) */
  private readonly proposalFrom = new Map<string, string[]>()
  /** batch values whose first ask went out: a sender heard from later is asked at once */
  private readonly fetched = new Set<string>()
  private retryPending = false

  constructor (core: Core) { this.core = core }

  /**
   * A new height: verdicts and waits are per height. Items asked for stay asked for (a node
   * catching up asks for the items of several heights at once), within a bound.
   */
  reset (): void {
    this.plans.clear()
    this.proposalFrom.clear()
    this.fetched.clear()
    this.waiting.clear()
    if (this.missing.size > 4 * MAX_WANT) this.missing.clear()
  }

  /** asks now for the items of batches this node will check soon (synced batches ahead) */
  prefetch (ids: readonly Uint8Array[], peer?: string): void {
    const c = this.core
    let added = 0
    for (const id of ids) {
      const k = hex(id)
      if (this.missing.has(k) || c.pool.has(k) || c.verdicts.byMessageId(k) != null || c.ledger.isIncluded(k)) continue
      if (this.missing.size >= 4 * MAX_WANT) break
      this.missing.set(k, 0)
      added++
    }
    if (added > 0) this.askMissing(peer)
  }

  validate (v: BatchValue): Validity {
    const cached = this.plans.get(v.hashHex)
    if (cached != null) return cached === 'invalid' ? 'invalid' : 'valid'
    const r = this.check(v)
    if (r === 'pending') return 'pending'
    if (typeof r === 'string') {
      this.core.log.warn({ height: v.header.height, round: v.msg.body.round, proposal: v.hashHex, reason: r }, `proposal ${v.hashHex.slice(0, 12)} at ${v.header.height} r=${v.msg.body.round} is invalid: ${r}`)
      this.plans.set(v.hashHex, 'invalid')
      return 'invalid'
    }
    this.plans.set(v.hashHex, r)
    return 'valid'
  }

  /** a plan when the batch is valid, 'pending' when items are missing, else the reason */
  private check (v: BatchValue): Plan | 'pending' | string {
    const c = this.core
    const ledger = c.ledger
    if ((this.waiting.get(v.hashHex)?.size ?? 0) > 0) { this.fetchMissing(v.hashHex); return 'pending' }
    const h = ledger.height + 1
    const hd = v.header
    const committee = ledger.committeeAt(h)
    if (hd.height !== h) return `height ${hd.height}, expected ${h}`
    if (hd.epoch !== committee.epoch) return `epoch ${hd.epoch}, expected ${committee.epoch}`
    if (!equal(hd.chain, ledger.chain)) return 'another chain'
    if (!equal(hd.parent, ledger.head)) return 'wrong parent'
    if (!committee.index.has(hex(hd.proposer))) return 'proposer is not a validator'
    // last commit and committee time
    const lc = v.msg.body.lastCommit
    let time: number
    if (h === 1) {
      if (lc.length !== 0) return 'height 1 has no last commit'
      time = ledger.genesis.genesisTime
    } else {
      const prev = ledger.committeeAt(h - 1)
      const signers = new Set<number>()
      const votes: Array<SignedMessage<VoteBody>> = []
      let round = -1
      for (const b of lc) {
        let m: SignedMessage<VoteBody>
        try { m = c.verdicts.open(b, CommitteeTag.VOTE, memberOf(prev)) as SignedMessage<VoteBody> } catch (err) { return `last commit: ${errorMessage(err)}` }
        const vb = m.body
        if (vb.type !== VoteType.PRECOMMIT || vb.height !== h - 1 || vb.epoch !== prev.epoch || !equal(vb.value, ledger.head)) return 'last commit holds a vote for something else'
        if (round === -1) round = vb.round
        if (vb.round !== round) return 'last commit mixes rounds'
        const idx = prev.index.get(hex(m.signer))
        if (idx == null || signers.has(idx)) return 'last commit has a stranger or a repeat'
        signers.add(idx)
        votes.push(m)
      }
      if (signers.size < prev.threshold) return `last commit has ${signers.size} precommits; ${prev.threshold} needed`
      time = medianTime(votes.map((m) => m.createdAt))
      if (!equal(hd.lastCommit, idsHash(votes.map((m) => m.id)))) return 'lastCommit hash'
    }
    if (h === 1 && !equal(hd.lastCommit, idsHash([]))) return 'lastCommit hash'
    if (hd.time !== time) return `time ${hd.time}, the last commit gives ${time}`
    if (h > 1 && time <= ledger.time) return 'time does not advance'
    // items
    const ids = v.msg.body.items
    if (ids.length !== hd.itemCount || !equal(hd.items, idsHash(ids))) return 'items do not match the header'
    const items: SignedMessage[] = []
    const seen = new Set<string>()
    const lacking = new Set<string>()
    for (const id of ids) {
      const k = hex(id)
      if (seen.has(k)) return 'an item repeats'
      seen.add(k)
      const m = c.pool.get(k) ?? c.verdicts.byMessageId(k)
      if (m == null) {
        lacking.add(k)
        if (!this.missing.has(k)) this.missing.set(k, 0)
        continue
      }
      const why = ledger.itemProblem(m, time)
      if (why != null) return `item ${k.slice(0, 12)}: ${why}`
      items.push(m)
    }
    if (lacking.size > 0) {
      this.waiting.set(v.hashHex, lacking)
      this.fetchMissing(v.hashHex)
      return 'pending'
    }
    const plan = ledger.plan(h, time, items)
    if (!equal(plan.leaseRoot, v.msg.body.leaseRoot)) return 'lease root differs from the matching result'
    if (plan.leases.length !== hd.leaseCount) return 'lease count'
    if (!equal(plan.outcomes, hd.outcomes)) return 'outcomes differ'
    if (!equal(plan.next?.hash ?? new Uint8Array(0), hd.next)) return 'next committee differs'
    return plan
  }

  /** an item this node asked for arrived: re-check a batch once the last item it waited for is here */
  arrived (id: string): void {
    this.missing.delete(id)
    let complete = false
    for (const [v, ids] of this.waiting) {
      if (ids.delete(id) && ids.size === 0) { this.waiting.delete(v); complete = true }
    }
    if (complete) {
      this.core.driver.cur?.process()
      this.core.catchUp.drain()
    }
  }

  /**
   * Asks for the items a batch names and this node lacks: after a short wait (gossip usually
   * brings them), from the peer that sent the batch; again, from everyone, only if they are still
   * missing much later. Keeps a slow node from flooding its peers with requests.
   */
  fetchMissing (valueHex: string): void {
    this.core.timer(this.core.init.fetchDelayMs, () => {
      this.fetched.add(valueHex)
      this.askMissing(this.proposalFrom.get(valueHex))
    })
  }

  /**
   * `peer` sent the batch `valueHex`. Each of its first senders (three, or f+1 when more) is asked for the items this
   * node lacks: a Byzantine relayer that is first to pass a proposal on and then withholds its
   * items would otherwise cost a whole retry period, longer than a round's propose timeout,
   * while the proposer itself holds them.
   */
  heardFrom (valueHex: string, peer: string): void {
    const senders = this.proposalFrom.get(valueHex) ?? []
    // f Byzantine relayers can be the first f to pass a batch on: f+1 senders include an honest one
    const asked = Math.max(ASKED_SENDERS, this.core.ledger.committeeAt(this.core.ledger.height + 1).f + 1)
    if (senders.includes(peer) || senders.length >= asked) return
    senders.push(peer)
    this.proposalFrom.set(valueHex, senders)
    const lacking = this.waiting.get(valueHex)
    if (this.fetched.has(valueHex) && lacking != null && lacking.size > 0) {
      this.core.send(peer, { kind: 'want', body: { ids: [...lacking].slice(0, MAX_WANT).map(fromHex) } })
    }
  }

  askMissing (peers: string | readonly string[] | undefined): void {
    const c = this.core
    const now = c.clock.now()
    const retryMs = Math.max(3 * c.init.batchIntervalMs, 200)
    const ids = [...this.missing.entries()].filter(([, at]) => at === 0 || now - at >= retryMs).slice(0, MAX_WANT)
    if (ids.length === 0) return
    const first = ids.every(([, at]) => at === 0)
    for (const [k] of ids) this.missing.set(k, now)
    const f = { kind: 'want' as const, body: { ids: ids.map(([k]) => fromHex(k)) } }
    const to = peers == null ? [] : typeof peers === 'string' ? [peers] : peers
    if (to.length > 0 && first) for (const p of to) c.send(p, f)
    else c.broadcast(f)
    // ask everyone again later if they are still missing (one retry timer at a time)
    if (!this.retryPending) {
      this.retryPending = true
      c.timer(retryMs, () => { this.retryPending = false; if (this.missing.size > 0) this.askMissing(undefined) })
    }
  }
}
