// Tendermint's Algorithm 1 ("The latest gossip on BFT consensus", Buchman, Kwon, Milosevic 2018)
// for one batch height. The value is a batch; its ID is the header hash. The host signs (after
// persisting), sends, validates values, keeps time and learns the decision. Rule numbers in the
// comments refer to the paper's lines.
import type { SignedMessage } from '../wire/envelope.ts'
import type { VoteBody } from './messages.ts'
import type { BatchValue } from './batch.ts'
import type { CommitteeInfo } from './committee-file.ts'
import { VoteType } from './constants.ts'
import { hex } from './bytes.ts'

export type Validity = 'valid' | 'invalid' | 'pending'
export const Step = { PROPOSE: 0, PREVOTE: 1, PRECOMMIT: 2 } as const
export type Step = typeof Step[keyof typeof Step]
export type TimeoutKind = 'propose' | 'prevote' | 'precommit'

export interface HeightHost {
  validate: (v: BatchValue) => Validity
  /** builds (or re-proposes `valid`), persists, signs and sends a proposal; undefined if it cannot */
  propose: (round: number, valid: BatchValue | null, validRound: number) => BatchValue | undefined
  /** persists, signs and sends a vote; returns what was sent (a stored vote wins over a new one) */
  vote: (type: VoteType, round: number, value: BatchValue | null) => SignedMessage<VoteBody> | undefined
  decide: (round: number, v: BatchValue, precommits: Array<SignedMessage<VoteBody>>) => void
  schedule: (kind: TimeoutKind, round: number) => void
  /** 2f+1 precommits name a value whose proposal this node lacks */
  missingProposal: (round: number, value: string) => void
  conflict: (a: SignedMessage, b: SignedMessage, kind: 'proposal' | 'vote') => void
}

/** values kept per validator, round and vote type (beyond it, only values with f+1 other voters) */
export const VOTE_ROOM = 3

/**
 * Votes of one type and round. A vote counts for its value once per validator; an equivocating
 * validator's two votes count for both values (as the algorithm counts received messages), so
 * every honest node can see a polka some other honest node saw. Each validator gets room for a
 * few values, so equivocation cannot exhaust memory; beyond that room, a vote is still taken when
 * at least f+1 other validators voted for the same value (one of them honest, so the value is
 * real). A Byzantine validator that filled its room with junk first thus cannot hide its real
 * vote, which a polka may need, from the nodes that got the junk first: the others relay the
 * polka's votes on their timeouts, and it then counts. At most n−f such values exist per round.
 */
export class VoteSet {
  readonly byValue = new Map<string, Map<number, SignedMessage<VoteBody>>>()
  private readonly bySender = new Map<number, Array<SignedMessage<VoteBody>>>()
  /** faults tolerated: the support a value needs to be taken beyond a validator's room */
  private readonly f: number

  constructor (f = 0) { this.f = f }

  /** adds a vote; 'dup' when known, the validator's earlier vote when this one conflicts with it */
  add (idx: number, v: SignedMessage<VoteBody>): SignedMessage<VoteBody> | 'dup' | undefined {
    const k = hex(v.body.value)
    const mine = this.bySender.get(idx) ?? []
    if (mine.some((x) => hex(x.body.value) === k)) return 'dup'
    if (mine.length >= VOTE_ROOM && this.supporters(k, idx) < this.f + 1) return mine[0]
    mine.push(v)
    this.bySender.set(idx, mine)
    let m = this.byValue.get(k)
    if (m == null) { m = new Map(); this.byValue.set(k, m) }
    m.set(idx, v)
    return mine.length > 1 ? mine[0] : undefined
  }

  /** validators other than `idx` that voted for `value` */
  private supporters (value: string, idx: number): number {
    const m = this.byValue.get(value)
    return m == null ? 0 : m.size - (m.has(idx) ? 1 : 0)
  }

  count (value: string): number { return this.byValue.get(value)?.size ?? 0 }
  /** validators that voted at all */
  get total (): number { return this.bySender.size }
  withValue (value: string): Array<SignedMessage<VoteBody>> {
    return [...(this.byValue.get(value)?.entries() ?? [])].sort((a, b) => a[0] - b[0]).map(([, v]) => v)
  }

  all (): Array<SignedMessage<VoteBody>> { return [...this.bySender.values()].flat() }
}

const NIL = ''

export interface RestoredState {
  round: number
  step: Step
  lockedValue: BatchValue | null
  lockedRound: number
}

export class HeightConsensus {
  readonly height: number
  readonly committee: CommitteeInfo
  /** this node's validator index, or -1 when it only follows */
  readonly me: number
  round = -1
  step: Step = Step.PROPOSE
  lockedValue: BatchValue | null = null
  lockedRound = -1
  validValue: BatchValue | null = null
  validRound = -1
  decided = false
  readonly proposals = new Map<number, BatchValue[]>()
  readonly prevotes = new Map<number, VoteSet>()
  readonly precommits = new Map<number, VoteSet>()
  private readonly senders = new Map<number, Set<number>>()
  private readonly prevoteTimer = new Set<number>()
  private readonly precommitTimer = new Set<number>()
  private readonly polka = new Set<number>()
  private readonly host: HeightHost
  private processing = false
  private again = false

  constructor (height: number, committee: CommitteeInfo, me: number, host: HeightHost) {
    this.height = height
    this.committee = committee
    this.me = me
    this.host = host
  }

  get quorum (): number { return this.committee.threshold }
  get f (): number { return this.committee.f }

  proposer (round: number): number {
    return (this.height + round) % this.committee.validators.length
  }

  /** every proposal held, all rounds */
  allProposals (): BatchValue[] { return [...this.proposals.values()].flat() }

  findValue (hashHex: string): BatchValue | undefined {
    for (const list of this.proposals.values()) for (const p of list) if (p.hashHex === hashHex) return p
    return undefined
  }

  restore (s: RestoredState): void {
    this.round = s.round
    this.step = s.step
    this.lockedValue = s.lockedValue
    this.lockedRound = s.lockedRound
    if (s.lockedValue != null) { this.validValue = s.lockedValue; this.validRound = s.lockedRound }
  }

  startRound (r: number): void {
    if (this.decided) return
    this.round = r
    this.step = Step.PROPOSE
    if (this.me >= 0 && this.proposer(r) === this.me) {
      const p = this.host.propose(r, this.validValue, this.validRound)
      if (p != null) this.addProposal(p)
    }
    if (this.decided) return
    this.host.schedule('propose', r)
    this.process()
  }

  /** a proposal whose signer was checked to be a member; returns false when it is not the round's proposer */
  addProposal (p: BatchValue): boolean {
    const r = p.msg.body.round
    const idx = this.committee.index.get(hex(p.msg.signer))
    if (idx == null || idx !== this.proposer(r)) return false
    const list = this.proposals.get(r) ?? []
    if (list.some((x) => x.hashHex === p.hashHex)) return true
    if (list.length > 0) this.host.conflict(list[0].msg, p.msg, 'proposal')
    if (list.length >= 4) return true // an equivocating proposer gets no more room
    list.push(p)
    this.proposals.set(r, list)
    this.sender(r, idx)
    this.process()
    return true
  }

  addVote (v: SignedMessage<VoteBody>, idx: number): void {
    const sets = v.body.type === VoteType.PREVOTE ? this.prevotes : this.precommits
    let set = sets.get(v.body.round)
    if (set == null) { set = new VoteSet(this.committee.f); sets.set(v.body.round, set) }
    const r = set.add(idx, v)
    if (r === 'dup') return
    if (r != null) this.host.conflict(r, v, 'vote')
    this.sender(v.body.round, idx)
    this.process()
  }

  onTimeout (kind: TimeoutKind, r: number): void {
    if (this.decided || r !== this.round) return
    if (kind === 'propose' && this.step === Step.PROPOSE) {
      this.sendVote(VoteType.PREVOTE, null)
      this.step = Step.PREVOTE
    } else if (kind === 'prevote' && this.step === Step.PREVOTE) {
      this.sendVote(VoteType.PRECOMMIT, null)
      this.step = Step.PRECOMMIT
    } else if (kind === 'precommit') {
      this.startRound(r + 1)
      return
    }
    this.process()
  }

  /** re-evaluates the rules (call after something the validity of a value depends on arrived) */
  process (): void {
    if (this.processing) { this.again = true; return }
    this.processing = true
    try {
      do {
        this.again = false
        this.rules()
      } while (this.again && !this.decided)
    } finally {
      this.processing = false
    }
  }

  private sender (round: number, idx: number): void {
    let s = this.senders.get(round)
    if (s == null) { s = new Set(); this.senders.set(round, s) }
    s.add(idx)
  }

  private sendVote (type: VoteType, value: BatchValue | null): void {
    if (this.me < 0) return
    const v = this.host.vote(type, this.round, value)
    if (v == null) return
    const sets = type === VoteType.PREVOTE ? this.prevotes : this.precommits
    let set = sets.get(v.body.round)
    if (set == null) { set = new VoteSet(this.committee.f); sets.set(v.body.round, set) }
    set.add(this.me, v)
    this.sender(v.body.round, this.me)
    this.again = true
  }

  private rules (): void {
    if (this.decided) return
    // L49: a value with 2f+1 precommits in any round is decided
    for (const [r, set] of this.precommits) {
      for (const [value, votes] of set.byValue) {
        if (value === NIL || votes.size < this.quorum) continue
        const p = this.findValue(value)
        if (p == null) { this.host.missingProposal(r, value); continue }
        if (this.host.validate(p) !== 'valid') continue
        this.decided = true
        this.host.decide(r, p, set.withValue(value))
        return
      }
    }
    // L55: f+1 validators are in a later round: go there
    for (const [r, s] of this.senders) {
      if (r > this.round && s.size >= this.f + 1) { this.startRound(r); return }
    }
    if (this.round < 0) return
    const r = this.round
    const prevotes = this.prevotes.get(r)
    if (this.step === Step.PROPOSE) {
      const p = this.proposals.get(r)?.[0]
      if (p != null) {
        const vr = p.msg.body.validRound
        if (vr === -1) {
          // L22
          const ok = this.host.validate(p)
          if (ok !== 'pending') {
            const yes = ok === 'valid' && (this.lockedRound === -1 || this.lockedValue?.hashHex === p.hashHex)
            this.sendVote(VoteType.PREVOTE, yes ? p : null)
            this.step = Step.PREVOTE
          }
        } else if ((this.prevotes.get(vr)?.count(p.hashHex) ?? 0) >= this.quorum) {
          // L28
          const ok = this.host.validate(p)
          if (ok !== 'pending') {
            const yes = ok === 'valid' && (this.lockedRound <= vr || this.lockedValue?.hashHex === p.hashHex)
            this.sendVote(VoteType.PREVOTE, yes ? p : null)
            this.step = Step.PREVOTE
          }
        }
      }
    }
    // L34
    if (this.step === Step.PREVOTE && (prevotes?.total ?? 0) >= this.quorum && !this.prevoteTimer.has(r)) {
      this.prevoteTimer.add(r)
      this.host.schedule('prevote', r)
    }
    // L36: 2f+1 prevotes for a valid value of this round: lock (if still prevoting) and remember it
    if (prevotes != null && this.step >= Step.PREVOTE && !this.polka.has(r)) {
      for (const [value, votes] of prevotes.byValue) {
        if (value === NIL || votes.size < this.quorum) continue
        const p = this.findValue(value)
        if (p == null || this.host.validate(p) !== 'valid') continue
        this.polka.add(r)
        if (this.step === Step.PREVOTE) {
          this.lockedValue = p
          this.lockedRound = r
          this.sendVote(VoteType.PRECOMMIT, p)
          this.step = Step.PRECOMMIT
        }
        this.validValue = p
        this.validRound = r
        break
      }
    }
    // L44
    if (this.step === Step.PREVOTE && (prevotes?.count(NIL) ?? 0) >= this.quorum) {
      this.sendVote(VoteType.PRECOMMIT, null)
      this.step = Step.PRECOMMIT
    }
    // L47
    if ((this.precommits.get(r)?.total ?? 0) >= this.quorum && !this.precommitTimer.has(r)) {
      this.precommitTimer.add(r)
      this.host.schedule('precommit', r)
    }
  }
}
