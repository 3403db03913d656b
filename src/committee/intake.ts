// Intake: what arrives from outside the consensus (orders, bids, closes and membership messages
// from gossip or peers, and the proposals and votes of the committee) is checked cheapest first:
// decoding, then who signed it (a proposal or vote of a non-member is dropped before anything is
// verified, cached or buffered), then freshness and shedding, then the signature, once. Items go
// into the bounded pool. CometBFT calls this part the mempool.
import type { SignedMessage } from '../wire/envelope.ts'
import { MAX_CLOCK_SKEW_MS, MAX_MESSAGE_AGE_MS, MessageTag } from '../wire/constants.ts'
import type { OrderBody } from '../wire/messages/order.ts'
import type { BidBody } from '../wire/messages/bid.ts'
import { CommitteeTag } from './constants.ts'
import type { ProposalBody, VoteBody, ChangeBody, ApproveBody, TallyBody } from './messages.ts'
import { ITEM_TAGS } from './ledger.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'
import { BoundName } from './metrics.ts'
import { equal, hex } from './bytes.ts'
import type { Core } from './core.ts'
import { errorMessage } from '../util/index.ts'

export interface SubmitResult { accepted: boolean, id?: string, reason?: string }

export interface SubmitOptions {
  /**
   * The caller checked the message's signature under the souk key rule already (a message the
   * gossip validator accepted): the committee reuses that verdict instead of checking again.
   */
  verified?: boolean
}

export class Intake {
  private readonly core: Core
  /** membership messages this node signed, repeated with each heartbeat until a batch orders them */
  private readonly mine = new Map<string, SignedMessage>()

  constructor (core: Core) { this.core = core }

  submit (msg: SignedMessage | Uint8Array, opts: SubmitOptions = {}): SubmitResult {
    const c = this.core
    let m: SignedMessage
    try {
      if (msg instanceof Uint8Array) m = c.verdicts.open(msg, ITEM_TAGS, this.precheck)
      else {
        const shed = this.shed(msg)
        if (shed != null) return { accepted: false, id: msg.idHex, reason: shed }
        const bad = this.memberProblem(msg)
        if (bad != null) return { accepted: false, id: msg.idHex, reason: bad.message }
        m = opts.verified === true ? c.verdicts.adopt(msg, ITEM_TAGS) : c.verdicts.open(msg.bytes, ITEM_TAGS, this.precheck)
      }
    } catch (err) {
      return { accepted: false, reason: errorMessage(err) }
    }
    return this.admit(m, { relay: c.init.relay, requested: false })
  }

  /**
   * Why a bid can no longer count, judged on this node's clock before its signature is checked:
   * it expired, its order settled, or its order's bid window closed. Under overload this spends
   * the signature checks on bids that can still win (protocols/committee.md §5). A bid a
   * proposal asked for is always taken: the batch judges it, not this clock.
   */
  shed (m: SignedMessage): string | undefined {
    const why = this.hopeless(m)
    if (why != null) this.core.verdicts.stats.shed++
    return why
  }

  readonly hopeless = (m: SignedMessage): string | undefined => {
    const c = this.core
    if (m.tag !== MessageTag.BID || c.checker.missing.has(m.idHex)) return undefined
    const b = m.body as BidBody
    const now = c.clock.now()
    if (b.expiresAt <= now) return 'the bid expired'
    const o = hex(b.order)
    if (c.ledger.isIncluded(o) && !c.ledger.isOpenOrder(o)) return 'its order is settled'
    const deadline = c.ledger.deadlineOf(o) ?? (c.pool.get(o)?.body as OrderBody | undefined)?.bidDeadline
    if (deadline != null && deadline <= now) return 'its order\'s bid window closed'
    return undefined
  }

  /**
   * A proposal, vote or approval whose signer cannot count, judged on the decoded message before
   * its signature is checked: a proposal by anyone but the round's proposer, a vote or approval
   * by a key outside the committee of its height.
   */
  memberProblem (m: SignedMessage): CommitteeError | undefined {
    const c = this.core
    if (m.tag === CommitteeTag.PROPOSAL) {
      const b = m.body as ProposalBody
      const com = c.ledger.committeeAt(b.height)
      const idx = com.index.get(hex(m.signer))
      if (b.epoch !== com.epoch || idx == null || idx !== (b.height + b.round) % com.validators.length) return this.notMember('a proposal by a validator that is not the proposer of its round')
    } else if (m.tag === CommitteeTag.VOTE) {
      const b = m.body as VoteBody
      const com = c.ledger.committeeAt(b.height)
      if (b.epoch !== com.epoch || !com.index.has(hex(m.signer))) return this.notMember('a vote by a key outside the committee of its height')
    } else if (m.tag === CommitteeTag.APPROVE) {
      if (!c.isMemberKey(hex(m.signer))) return this.notMember('an approval by a key outside the committee')
    } else if (m.tag === CommitteeTag.TALLY) {
      const b = m.body as TallyBody
      const com = c.ledger.committeeAt(b.height)
      if (b.epoch !== com.epoch || !com.index.has(hex(m.signer))) return this.notMember('a tally by a key outside the committee of its height')
    }
    return undefined
  }

  private notMember (message: string): CommitteeError {
    this.core.metrics.hit(BoundName.NOT_A_MEMBER_SIGNER)
    return new CommitteeError(CommitteeErrorCode.NOT_MEMBER, message)
  }

  readonly precheck = (m: SignedMessage): string | CommitteeError | undefined => this.memberProblem(m) ?? this.hopeless(m)

  /** a proposal, vote or item a peer sent (`requested`: an answer to this node's `want`) */
  onEnvelope (from: string, bytes: Uint8Array, requested: boolean): void {
    const c = this.core
    let m: SignedMessage
    try {
      m = c.verdicts.open(bytes, undefined, this.precheck)
    } catch (err) {
      // counted; not worth a log line
      if (err instanceof CommitteeError && (err.code === CommitteeErrorCode.SHED || err.code === CommitteeErrorCode.NOT_MEMBER)) return
      throw err
    }
    if (m.tag === CommitteeTag.PROPOSAL) c.driver.onProposal(from, m as SignedMessage<ProposalBody>)
    else if (m.tag === CommitteeTag.VOTE) c.driver.onVote(from, m as SignedMessage<VoteBody>)
    else if (ITEM_TAGS.includes(m.tag)) this.admit(m, { relay: false, requested })
  }

  /** an envelope from a peer outside the committee: an item of the given kinds, or nothing */
  onGuestItem (from: string, bytes: Uint8Array, tags: readonly string[]): void {
    const c = this.core
    let m: SignedMessage
    try {
      m = c.verdicts.open(bytes, tags, this.precheck)
    } catch (err) {
      c.log.debug({ from, err: errorMessage(err) }, `dropped an item from ${from}: ${errorMessage(err)}`)
      return
    }
    this.admit(m, { relay: false, requested: false })
  }

  /** heartbeat housekeeping: stale items, bids that waited too long for their order, own messages again */
  prune (): void {
    const c = this.core
    const r = c.pool.prune(c.clock.now())
    if (r.unknownExpired > 0) c.metrics.hit(BoundName.UNKNOWN_ORDER_EXPIRED, r.unknownExpired)
    // a join request or approval is sent once; one lost on the way would never be ordered
    for (const [id, m] of this.mine) {
      if (c.ledger.isIncluded(id) || !c.pool.has(id)) this.mine.delete(id)
      else c.broadcast({ kind: 'msg', body: m.bytes })
    }
  }

  /** a membership message this node signed: admitted, and repeated until ordered */
  own (m: SignedMessage): void {
    this.admit(m, { relay: true, requested: false })
    if (this.mine.size < 16) this.mine.set(m.idHex, m)
  }

  admit (m: SignedMessage, opts: { relay: boolean, requested: boolean }): SubmitResult {
    const c = this.core
    if (c.ledger.isIncluded(m.idHex)) return { accepted: false, id: m.idHex, reason: 'already ordered' }
    if (c.pool.has(m.idHex)) return { accepted: true, id: m.idHex, reason: 'duplicate' }
    // an item a proposal names is judged by the batch's time, not this node's clock
    const wanted = c.checker.missing.has(m.idHex)
    const now = c.clock.now()
    if (!wanted) {
      if (m.createdAt > now + MAX_CLOCK_SKEW_MS) return { accepted: false, id: m.idHex, reason: 'created in the future' }
      if (m.createdAt < now - MAX_MESSAGE_AGE_MS) return { accepted: false, id: m.idHex, reason: 'too old' }
    }
    if (m.tag === CommitteeTag.CHANGE && !equal(m.signer, (m.body as ChangeBody).validator)) return { accepted: false, id: m.idHex, reason: 'a change is signed by the validator it names' }
    if (m.tag === CommitteeTag.APPROVE && (m.body as ApproveBody).epoch !== c.current().epoch && !wanted) return { accepted: false, id: m.idHex, reason: 'an approval for another epoch' }
    const order = m.tag === MessageTag.BID ? hex((m.body as BidBody).order) : undefined
    const orderKnown = order == null || c.ledger.isOpenOrder(order) || c.pool.has(order)
    const refused = c.pool.add(m, { now, orderKnown, force: wanted })
    if (refused != null) {
      c.metrics.hit(refused.bound)
      return { accepted: false, id: m.idHex, reason: refused.reason }
    }
    if (order != null) c.tallies.arrived(m.idHex, now)
    if (m.tag === MessageTag.ORDER) {
      const n = c.pool.orderArrived(m.idHex)
      if (n > 0) c.metrics.hit(BoundName.POOL_PER_ORDER, n)
    }
    if (orderKnown) c.driver.wake()
    if (opts.relay) c.broadcast({ kind: 'msg', body: m.bytes })
    if (wanted) c.checker.arrived(m.idHex)
    return { accepted: true, id: m.idHex }
  }
}
