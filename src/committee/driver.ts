// The consensus driver: runs one HeightConsensus (Algorithm 1) at a time, feeds it the proposals
// and votes of the height (buffering those a little ahead), signs and persists what it sends,
// paces the heights (batch, short and idle pauses), re-sends on timeouts, and applies decided
// batches to the ledger. CometBFT calls this the consensus state.
import type { SignedMessage } from '../wire/envelope.ts'
import { CommitteeTag, FUTURE_HEIGHTS, VoteType, Bounds } from './constants.ts'
import type { ProposalBody, VoteBody } from './messages.ts'
import { batchValue } from './batch.ts'
import type { BatchValue } from './batch.ts'
import { HeightConsensus } from './consensus.ts'
import type { HeightHost, TimeoutKind } from './consensus.ts'
import type { Plan } from './ledger.ts'
import type { CommitteeInfo } from './committee-file.ts'
import type { SignedKind } from './persist.ts'
import { messageEvidence } from './evidence.ts'
import { encodeFrame } from './frames.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'
import { BoundName } from './metrics.ts'
import { equal, hex } from './bytes.ts'
import { Builder } from './builder.ts'
import type { Core } from './core.ts'

export class Driver {
  private readonly core: Core
  readonly builder: Builder
  cur: HeightConsensus | null = null
  private readonly future = new Map<number, Array<{ from: string, msg: SignedMessage }>>()
  private roundStartPending = false
  /** the pending round 0 start is an idle pause that work may cut short */
  private idlePause = false
  /** what this node signed at the current height (mirrors the store, saves reading it back) */
  private own: { height: number, rows: Array<{ round: number, bytes: Uint8Array }> } = { height: 0, rows: [] }

  constructor (core: Core) {
    this.core = core
    this.builder = new Builder(core)
  }

  get idle (): boolean { return this.idlePause && this.roundStartPending }

  // ---- proposals and votes of the height ----

  onProposal (from: string, m: SignedMessage<ProposalBody>): void {
    const c = this.core
    const h = m.body.height
    if (h <= c.ledger.height) return
    if (h > c.ledger.height + 1) { this.buffer(from, m); return }
    const cur = this.cur
    if (cur == null) return
    if (m.body.epoch !== cur.committee.epoch) return
    this.wake()
    const v = batchValue(m)
    c.checker.heardFrom(v.hashHex, from)
    cur.addProposal(v)
  }

  onVote (from: string, m: SignedMessage<VoteBody>): void {
    const c = this.core
    const h = m.body.height
    if (h === c.ledger.height && m.body.type === VoteType.PRECOMMIT && equal(m.body.value, c.ledger.head)) {
      // a late precommit for the last batch: one more timestamp for the next last commit
      const lc = this.builder.lastCommit
      if (lc.length < c.ledger.committeeAt(h).validators.length && lc.every((x) => !equal(x.signer, m.signer)) && (lc.length === 0 || lc[0].body.round === m.body.round)) lc.push(m)
      return
    }
    if (h <= c.ledger.height) return
    if (h > c.ledger.height + 1) { this.buffer(from, m); return }
    const cur = this.cur
    if (cur == null) return
    const idx = cur.committee.index.get(hex(m.signer))
    if (idx == null || m.body.epoch !== cur.committee.epoch) return
    this.wake()
    cur.addVote(m, idx)
  }

  private buffer (from: string, m: SignedMessage<ProposalBody> | SignedMessage<VoteBody>): void {
    const c = this.core
    const h = m.body.height
    if (h <= c.ledger.height + FUTURE_HEIGHTS) {
      const list = this.future.get(h) ?? []
      if (list.length < Bounds.FUTURE_MESSAGES_PER_HEIGHT) list.push({ from, msg: m })
      else c.metrics.hit(BoundName.FUTURE_FULL)
      this.future.set(h, list)
    }
    // someone is ahead: ask for the batches this node lacks (at most once per batch interval)
    if (h > c.ledger.height + 1) c.catchUp.askSync(from)
  }

  // ---- the consensus host ----

  host (): HeightHost {
    const c = this.core
    return {
      validate: (v) => c.checker.validate(v),
      propose: (round, valid, validRound) => this.builder.propose(round, valid, validRound),
      vote: (type, round, value) => this.vote(type, round, value),
      decide: (_round, v, precommits) => this.commit(v, precommits),
      schedule: (kind, round) => {
        const h = c.ledger.height + 1
        c.timer(this.timeoutMs(kind, round), () => {
          if (this.cur?.height !== h) return
          c.log.debug({ height: h, round }, `timeout ${kind} h=${h} r=${round} (at r=${this.cur.round} step=${this.cur.step})`)
          this.retransmit()
          this.cur.onTimeout(kind, round)
        })
      },
      missingProposal: (_round, value) => {
        const cur = this.cur
        if (cur == null) return
        // ask the validators who precommitted it: they hold the proposal
        const voters = [...cur.precommits.values()].flatMap((s) => s.withValue(value))
        if (voters.length > 0) c.catchUp.askSync(undefined, cur.height)
      },
      conflict: (a, b, kind) => {
        const e = messageEvidence(a, b, kind)
        if (e != null) c.evidence.add(e, true)
      }
    }
  }

  private timeoutMs (kind: TimeoutKind, round: number): number {
    const i = this.core.init
    const ms = kind === 'propose' ? i.proposeTimeoutMs + round * i.proposeTimeoutDeltaMs : i.voteTimeoutMs + round * i.voteTimeoutDeltaMs
    return Math.min(ms, i.maxTimeoutMs)
  }

  /**
   * On a timeout: resend what this node signed at the height and relay the votes it holds for the
   * rounds that matter (a polka it saw must reach the others even if its Byzantine voters went
   * quiet), and ask again for missing items. Needed only when messages were lost.
   */
  private retransmit (): void {
    const cur = this.cur
    if (cur == null) return
    // a node following the committee has nothing of its own to re-send, and relays nothing
    if (cur.me >= 0) for (const b of this.heightMessages(cur, cur.round)) this.core.transport.broadcast(encodeFrame({ kind: 'msg', body: b }))
    if (this.core.checker.missing.size > 0) this.core.checker.askMissing(undefined)
  }

  /** own messages of the current height, plus proposals and votes held for the rounds that matter */
  heightMessages (cur: HeightConsensus, peerRound: number): Uint8Array[] {
    const out: Uint8Array[] = []
    const seen = new Set<Uint8Array>()
    const add = (b: Uint8Array): void => { if (!seen.has(b)) { seen.add(b); out.push(b) } }
    const rounds = new Set([cur.round, cur.round - 1, peerRound, cur.validRound, cur.lockedRound].filter((r) => r >= 0))
    for (const r of [cur.round, peerRound]) {
      for (const p of cur.proposals.get(r) ?? []) if (p.msg.body.validRound >= 0) rounds.add(p.msg.body.validRound)
    }
    // own messages: recent rounds, and the rounds a re-proposal's polka lies in (the owner may be
    // the only one left holding its vote after restarts)
    for (const row of this.ownAt(cur.height)) if (row.round >= Math.min(cur.round, peerRound) - 1 || rounds.has(row.round)) add(row.bytes)
    for (const p of cur.proposals.get(cur.round) ?? []) add(p.msg.bytes)
    for (const p of cur.proposals.get(peerRound) ?? []) add(p.msg.bytes)
    for (const r of rounds) {
      for (const v of cur.prevotes.get(r)?.all() ?? []) add(v.bytes)
      for (const v of cur.precommits.get(r)?.all() ?? []) add(v.bytes)
    }
    return out
  }

  private ownAt (height: number): Array<{ round: number, bytes: Uint8Array }> {
    if (this.own.height !== height) this.own = { height, rows: this.core.persist.signedAt(height).map((r) => ({ round: r.round, bytes: r.bytes })) }
    return this.own.rows
  }

  /** persists what this node signs, before it is sent (protocols/committee.md §4.2) */
  record (row: { kind: SignedKind, height: number, round: number, value: Uint8Array, bytes: Uint8Array }, lock?: BatchValue): void {
    const plan = lock == null ? undefined : this.core.checker.plans.get(lock.hashHex)
    const items = plan != null && plan !== 'invalid' ? plan.items.map((m) => ({ id: m.id, bytes: m.bytes })) : undefined
    this.core.persist.recordSigned(row, lock?.msg.bytes, items)
    if (row.kind === 'proposal' || row.kind === 'prevote' || row.kind === 'precommit') this.ownAt(row.height).push({ round: row.round, bytes: row.bytes })
  }

  private vote (type: VoteType, round: number, value: BatchValue | null): SignedMessage<VoteBody> | undefined {
    const c = this.core
    const h = c.ledger.height + 1
    const stored = c.persist.signed(type, h, round)
    if (stored != null) {
      const m = c.verdicts.trusted(stored.bytes) as SignedMessage<VoteBody>
      c.broadcast({ kind: 'msg', body: m.bytes })
      return m
    }
    const committee = c.ledger.committeeAt(h)
    const now = c.clock.now()
    // a precommit's time must lie after the batch's own time, so committee time always advances
    const createdAt = type === VoteType.PRECOMMIT && value != null ? Math.max(now, value.header.time + 1) : now
    const m = c.sign<VoteBody>(CommitteeTag.VOTE, { epoch: committee.epoch, height: h, round, type, value: value?.hash ?? new Uint8Array(0) }, createdAt)
    this.record({ kind: type as SignedKind, height: h, round, value: value?.hash ?? new Uint8Array(0), bytes: m.bytes }, type === VoteType.PRECOMMIT && value != null ? value : undefined)
    c.verdicts.trusted(m.bytes)
    c.broadcast({ kind: 'msg', body: m.bytes })
    return m
  }

  // ---- heights ----

  newHeight (): void {
    const c = this.core
    const h = c.ledger.height + 1
    const committee = c.ledger.committeeAt(h)
    this.cur = new HeightConsensus(h, committee, c.myIndex(committee), this.host())
    c.checker.reset()
    const buffered = this.future.get(h) ?? []
    this.future.delete(h)
    for (const k of this.future.keys()) if (k < h) this.future.delete(k)
    for (const { from, msg } of buffered) {
      if (msg.tag === CommitteeTag.PROPOSAL) this.onProposal(from, msg as SignedMessage<ProposalBody>)
      else this.onVote(from, msg as SignedMessage<VoteBody>)
    }
  }

  scheduleRoundZero (mayIdle = true): void {
    const cur = this.cur
    if (cur == null) return
    const delay = this.roundZeroDelay(mayIdle)
    this.roundStartPending = true
    this.idlePause = delay > this.core.init.batchIntervalMs
    this.core.timer(delay, () => { this.startRoundZero(cur) })
  }

  private startRoundZero (cur: HeightConsensus): void {
    if (this.cur !== cur || cur.round >= 0 || cur.decided) return
    this.roundStartPending = false
    this.idlePause = false
    cur.startRound(0)
  }

  /** Work arrived during an idle pause: the height starts after the short pause instead. */
  wake (): void {
    if (!this.idlePause || !this.roundStartPending) return
    this.idlePause = false
    const cur = this.cur
    if (cur != null) this.core.timer(this.core.init.minBatchIntervalMs, () => { this.startRoundZero(cur) })
  }

  /** nothing waits to be ordered: no item in the pool, no membership change under way */
  private quiet (): boolean {
    const ledger = this.core.ledger
    return this.core.pool.size === 0 && ledger.pendingChanges().length === 0 && ledger.pendingTransition == null && ledger.closingOrders === 0
  }

  /**
   * The pause before the next height. An auction is settled by the first batch whose committee
   * time (the median of the previous batch's precommits) is at or past its deadline, so when a
   * deadline is due the next batches start with only the short pause: the previous batch's
   * precommits already passed the deadline (the next batch settles it), or the next batch is
   * timed to start at the deadline (its precommits pass it, and the one after settles it). With
   * nothing waiting to be ordered the pause stretches to the idle interval (capped by the next
   * deadline), so an idle committee does not write a batch ten times a second; work arriving
   * ends it (wake).
   */
  private roundZeroDelay (mayIdle: boolean): number {
    const c = this.core
    const { batchIntervalMs: full, minBatchIntervalMs: min, idleBatchIntervalMs: idle } = c.init
    const cap = mayIdle && this.quiet() ? idle : full
    // closed auctions settle once their tallies are ordered: the next batches follow closely
    if (c.ledger.closingOrders > 0) return min
    const due = c.ledger.nextDeadline()
    if (due == null) return cap
    const lc = this.builder.lastCommitFor(c.ledger.height + 1)
    if (lc != null && due <= lc.time) return min
    return Math.max(min, Math.min(cap, due - c.clock.now()))
  }

  // ---- decisions ----

  commit (v: BatchValue, precommits: Array<SignedMessage<VoteBody>>): void {
    const c = this.core
    const h = v.header.height
    if (h !== c.ledger.height + 1) return
    const plan = c.checker.plans.get(v.hashHex)
    if (plan == null || plan === 'invalid') throw new CommitteeError(CommitteeErrorCode.INCONSISTENT, `decided batch ${h} without a valid plan`)
    const committee = c.ledger.committeeAt(h)
    c.persist.saveBatch(
      { height: h, hash: v.hash, proposal: v.msg.bytes, commit: precommits.map((p) => p.bytes) },
      plan.items.map((m) => ({ id: m.id, bytes: m.bytes }))
    )
    if (this.cur != null) this.cur.decided = true
    this.applyDecided(v, plan, precommits, committee)
  }

  applyDecided (v: BatchValue, plan: Plan, precommits: Array<SignedMessage<VoteBody>>, committee: CommitteeInfo, replay = false): void {
    const c = this.core
    const h = plan.height
    // arrival times of bids whose auction settles here are no longer needed
    for (const o of plan.resolved) c.tallies.forget([...c.ledger.bidsOf(o).keys(), ...c.pool.bidsOf(o)])
    c.ledger.apply(plan, v.hash)
    for (const m of plan.items) { c.pool.delete(m.idHex); c.checker.missing.delete(m.idHex) }
    // bids waiting for an order that is now open join the pool; bids of settled orders can no longer count
    for (const o of plan.newOrders) c.pool.orderArrived(o.msg.idHex)
    for (const o of plan.resolved) c.pool.dropOrder(o)
    this.builder.lastCommit = precommits
    c.catchUp.decided(h)
    const cert = c.certs.open(h, v, committee, plan)
    if (plan.next != null) c.epochs.next(plan.next)
    if (replay) return
    if (plan.bounded.orders > 0) c.metrics.hit(BoundName.LEDGER_ORDERS, plan.bounded.orders)
    if (plan.bounded.deadlines > 0) c.metrics.hit(BoundName.LEDGER_DEADLINE, plan.bounded.deadlines)
    if (plan.bounded.bids > 0) c.metrics.hit(BoundName.LEDGER_BIDS, plan.bounded.bids)
    if (plan.next != null) c.log.info({ height: h, epoch: plan.next.epoch, startHeight: plan.next.startHeight, validators: plan.next.validators.length }, `epoch ${plan.next.epoch} decided at height ${h}: ${plan.next.validators.length} validators from height ${plan.next.startHeight}`)
    // a height with nothing in it is routine; one that carries items is worth a line at the default level
    c.log[plan.items.length > 0 ? 'info' : 'debug']({ height: h, epoch: committee.epoch, items: plan.items.length, leases: plan.leases.length }, `height ${h} decided: ${plan.items.length} items, ${plan.leases.length} leases`)
    c.emit('batch', { height: h, epoch: committee.epoch, header: v.hash, time: plan.time, items: plan.items.length, leases: plan.leases.length, expired: plan.expired.length })
    c.certs.finalize(h, cert)
    c.certs.flushPending(h)
    this.newHeight()
    // auctions closed in this batch: tally what this node held in time
    if (plan.closing.length > 0) c.tallies.tally(h)
    this.scheduleRoundZero()
    c.catchUp.drain()
  }
}
