// A committee validator with no network of its own: messages come in through handleMessage and
// submit, go out through the injected transport; time comes from the injected clock, so the same
// code runs in the daemon, in tests and in the deterministic simulator. The work is split the way
// CometBFT splits it: intake and pool (intake.ts), the consensus driver (driver.ts, builder.ts,
// checker.ts, consensus.ts), certification, epochs, catch-up, evidence and replay.
import type { SignedMessage } from '../wire/envelope.ts'
import { verify as verifyNative } from '../identity/ed25519.ts'
import { CommitteeTag, Bounds, ChangeAction } from './constants.ts'
import type { ChangeBody, ApproveBody } from './messages.ts'
import { Ledger, ITEM_TAGS } from './ledger.ts'
import type { PendingChange } from './ledger.ts'
import type { CommitteeFile, CommitteeInfo } from './committee-file.ts'
import { committeePersistence } from './persist.ts'
import { decodeFrame } from './frames.ts'
import type { Frame } from './frames.ts'
import { Verdicts, ItemPool } from './pool.ts'
import type { Evidence } from './evidence.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'
import { CommitteeMetrics, BoundName } from './metrics.ts'
import { hex } from './bytes.ts'
import { Core, resolveInit } from './core.ts'
import type { CommitteeNodeInit, CommitteeComponents, CommitteeEvents } from './core.ts'
import { Intake } from './intake.ts'
import type { SubmitResult, SubmitOptions } from './intake.ts'
import { Driver } from './driver.ts'
import { Checker } from './checker.ts'
import { Certification } from './certification.ts'
import { Epochs } from './epochs.ts'
import { CatchUp } from './catch-up.ts'
import { EvidenceBook } from './evidence-book.ts'
import { Tallier } from './tallies.ts'
import { replay } from './replay.ts'
import type { ProviderRecord } from './record.ts'
import { Step } from './consensus.ts'
import { errorMessage } from '../util/index.ts'

export type { Clock, Transport, CommitteeNodeInit, CommitteeComponents, CommitteeEvents, BatchEvent, CertifiedEvent, LeaseEvent, ProposerPolicy } from './core.ts'
export type { SubmitResult, SubmitOptions } from './intake.ts'

export interface CommitteeStatus {
  /** the height being decided */
  height: number
  round: number
  step: 'propose' | 'prevote' | 'precommit'
  epoch: number
  validator: boolean
  /** committee time of the last final batch */
  time: number
  head: string
  pool: number
  /** bids held apart, waiting for an order this node has not seen */
  poolWaiting: number
  openOrders: number
  verified: number
  verifyCacheHits: number
  /** messages taken with the gossip validator's verdict, not checked again */
  verifyAdopted: number
  /** bids refused unchecked because they could no longer count (expired, order settled or closed) */
  shed: number
  /** between heights with nothing to order: the next batch starts when work arrives, or after the idle pause */
  idle: boolean
  rejected: number
  evidence: number
  /** validator keys (hex) of the epoch of `height` */
  members: string[]
  /** key (hex) of the proposer of (height, round) */
  leader: string
  /** what the other validators last said of themselves; `behind` is how many heights they lag */
  peers: Array<{ peer: string, height: number, round: number, behind: number, seenAt: number }>
  /** membership changes ordered so far */
  changes: PendingChange[]
  /** how often each bound bit (protocols/committee.md §11) */
  bounds: Record<string, number>
}

export interface CommitteeNode {
  start: () => void
  stop: () => void
  /**
   * A frame from a peer. `sender` is the peer's key as its transport authenticated it: members of
   * the committee (and candidates with an ordered join request) are answered; anyone else may only
   * hand in items (orders, bids, closes, join requests), at a bounded rate.
   */
  handleMessage: (from: string, data: Uint8Array, sender?: Uint8Array) => void
  /** an order, bid, close or membership message from this node's side (envelope or its bytes) */
  submit: (msg: SignedMessage | Uint8Array, opts?: SubmitOptions) => SubmitResult
  /**
   * Sheds an item that could no longer count if submitted now (a bid expired, or its order
   * settled or past its bid window, by this node's clock): returns why, and counts it in
   * `status().shed`; undefined when it could count. Decoded bytes suffice: the gossip layer asks
   * before checking the signature.
   */
  shed: (m: SignedMessage) => string | undefined
  /** asks to join (or leave) the committee; the current validators approve with approveChange */
  requestChange: (action: ChangeAction) => SignedMessage<ChangeBody>
  approveChange: (changeId: Uint8Array) => SignedMessage<ApproveBody>
  status: () => CommitteeStatus
  evidence: () => Evidence[]
  /** the committee files known, signed, from the genesis on (each knowing where its epoch ends) */
  committeeFiles: () => CommitteeFile[]
  committeeAt: (height: number) => CommitteeInfo
  /**
   * the Close that ended a lease, as its signer signed it (envelope bytes), once a final batch
   * ordered it; undefined while the lease is open or unknown here
   */
  closeOf: (orderHex: string) => Uint8Array | undefined
  /** a provider's record (key in hex) as of the last final batch, and that batch's height (§6.2) */
  providerRecord: (providerHex: string) => { height: number, record: ProviderRecord }
  on: <K extends keyof CommitteeEvents>(type: K, fn: (e: CommitteeEvents[K]) => void) => () => void
}

/** frames a peer outside the committee may send: items only */
const GUEST_KINDS = new Set<Frame['kind']>(['msg'])
/** frames a candidate (an ordered join request) may send besides: it must catch up to vote */
const CANDIDATE_KINDS = new Set<Frame['kind']>(['msg', 'status', 'sync', 'want'])
const GUEST_ITEM_TAGS: readonly string[] = ITEM_TAGS.filter((t) => t !== CommitteeTag.APPROVE)

class CommitteeNodeImpl implements CommitteeNode {
  private readonly c: Core
  /** per peer outside the committee: tokens left and when they were counted */
  private readonly guests = new Map<string, { tokens: number, at: number }>()

  constructor (init: CommitteeNodeInit, components: CommitteeComponents) {
    const r = resolveInit(init)
    const chain = Array.isArray(init.committee) ? init.committee : [init.committee]
    if (chain.length === 0 || chain[0].info.epoch !== 0) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, 'the committee chain must start with the genesis file')
    const verifier = components.verifier ?? verifyNative
    const verdicts = new Verdicts(verifier)
    const c = new Core(r, { ...components, verifier }, {
      persist: committeePersistence(components.store),
      verdicts,
      pool: new ItemPool({ items: r.maxPool, perOrder: r.maxPoolPerOrder, perSigner: r.maxPoolPerSigner, unknownOrderBids: r.maxUnknownOrderBids, unknownOrderBidMs: r.unknownOrderBidMs }),
      ledger: new Ledger(chain[0].info),
      metrics: new CommitteeMetrics()
    })
    c.intake = new Intake(c)
    c.checker = new Checker(c)
    c.driver = new Driver(c)
    c.certs = new Certification(c)
    c.epochs = new Epochs(c, chain)
    c.catchUp = new CatchUp(c)
    c.evidence = new EvidenceBook(c)
    c.tallies = new Tallier(c)
    this.c = c
  }

  on<K extends keyof CommitteeEvents> (type: K, fn: (e: CommitteeEvents[K]) => void): () => void { return this.c.on(type, fn) }

  start (): void {
    if (this.c.running) return
    this.c.running = true
    replay(this.c)
    this.c.catchUp.heartbeat()
  }

  stop (): void {
    this.c.running = false
    this.c.cancelTimers()
  }

  committeeAt (height: number): CommitteeInfo { return this.c.ledger.committeeAt(height) }
  closeOf (orderHex: string): Uint8Array | undefined {
    const l = this.c.ledger.leaseOf(orderHex)
    return l?.close != null ? this.c.persist.item(l.close) : undefined
  }
  committeeFiles (): CommitteeFile[] { return this.c.epochs.valid() }
  providerRecord (providerHex: string): { height: number, record: ProviderRecord } {
    return { height: this.c.ledger.height, record: { ...this.c.ledger.records.get(providerHex.toLowerCase()) } }
  }
  evidence (): Evidence[] { return this.c.evidence.all() }
  submit (msg: SignedMessage | Uint8Array, opts: SubmitOptions = {}): SubmitResult { return this.c.intake.submit(msg, opts) }
  shed (m: SignedMessage): string | undefined { return this.c.intake.shed(m) }

  status (): CommitteeStatus {
    const c = this.c
    const cur = c.driver.cur
    const committee = c.current()
    return {
      height: c.ledger.height + 1,
      round: cur?.round ?? -1,
      step: cur == null || cur.step === Step.PROPOSE ? 'propose' : cur.step === Step.PREVOTE ? 'prevote' : 'precommit',
      epoch: committee.epoch,
      validator: committee.index.has(hex(c.signer.publicKey)),
      time: c.ledger.time,
      head: hex(c.ledger.head),
      pool: c.pool.size,
      poolWaiting: c.pool.waiting,
      openOrders: c.ledger.openOrders,
      verified: c.verdicts.stats.verified,
      verifyCacheHits: c.verdicts.stats.cached,
      verifyAdopted: c.verdicts.stats.adopted,
      shed: c.verdicts.stats.shed,
      idle: c.driver.idle,
      rejected: c.verdicts.stats.rejected,
      evidence: c.evidence.size,
      members: committee.validators.map((v) => hex(v)),
      leader: hex(committee.validators[(c.ledger.height + 1 + Math.max(0, cur?.round ?? 0)) % committee.validators.length]),
      peers: [...c.catchUp.peers].map(([peer, x]) => ({ peer, height: x.height, round: x.round, behind: Math.max(0, c.ledger.height + 1 - x.height), seenAt: x.at })),
      changes: c.ledger.pendingChanges(),
      bounds: c.metrics.snapshot()
    }
  }

  requestChange (action: ChangeAction): SignedMessage<ChangeBody> {
    const c = this.c
    const m = c.sign<ChangeBody>(CommitteeTag.CHANGE, { epoch: c.current().epoch, action, validator: c.signer.publicKey })
    c.intake.own(m)
    return m
  }

  approveChange (changeId: Uint8Array): SignedMessage<ApproveBody> {
    const c = this.c
    const committee = c.current()
    if (!committee.index.has(hex(c.signer.publicKey))) throw new CommitteeError(CommitteeErrorCode.NOT_VALIDATOR, 'only a validator of the current epoch approves changes')
    const m = c.sign<ApproveBody>(CommitteeTag.APPROVE, { epoch: committee.epoch, change: changeId })
    c.intake.own(m)
    return m
  }

  /** a token bucket per peer outside the committee */
  private guestAllowed (from: string): boolean {
    const now = this.c.clock.now()
    let b = this.guests.get(from)
    if (b == null) {
      if (this.guests.size >= Bounds.GUEST_PEERS) this.guests.delete(this.guests.keys().next().value as string)
      b = { tokens: Bounds.GUEST_FRAMES_BURST, at: now }
      this.guests.set(from, b)
    }
    b.tokens = Math.min(Bounds.GUEST_FRAMES_BURST, b.tokens + (now - b.at) * Bounds.GUEST_FRAMES_PER_S / 1000)
    b.at = now
    if (b.tokens < 1) return false
    b.tokens--
    return true
  }

  handleMessage (from: string, data: Uint8Array, sender?: Uint8Array): void {
    const c = this.c
    if (!c.running) return
    // what a peer may send: everything (a member), items (anyone else, at a bounded rate), and
    // what catching up takes (a candidate: its join request is ordered)
    const member = sender != null && c.isMemberKey(hex(sender))
    if (!member && !this.guestAllowed(from)) { c.metrics.hit(BoundName.NON_MEMBER); return }
    let frame: Frame
    try {
      frame = decodeFrame(data)
    } catch (err) {
      c.log[member ? 'warn' : 'debug']({ from, err: errorMessage(err) }, `bad frame from ${from}: ${errorMessage(err)}`)
      return
    }
    if (!member && !GUEST_KINDS.has(frame.kind) && !(CANDIDATE_KINDS.has(frame.kind) && sender != null && c.ledger.joining(hex(sender)))) { c.metrics.hit(BoundName.NON_MEMBER); return }
    try {
      switch (frame.kind) {
        case 'msg':
          if (member) c.intake.onEnvelope(from, frame.body, false)
          else c.intake.onGuestItem(from, frame.body, GUEST_ITEM_TAGS)
          break
        case 'fin': c.certs.onFinalize(frame.body); break
        case 'fsig': c.epochs.onFileSig(frame.body); break
        case 'status': c.catchUp.onStatus(from, frame.body); break
        case 'want': c.catchUp.onWant(from, frame.body.ids); break
        case 'have':
          // one bad message does not cost the others
          for (const m of frame.body.msgs) {
            try { c.intake.onEnvelope(from, m, true) } catch (err) {
              if (err instanceof CommitteeError && err.code === CommitteeErrorCode.INCONSISTENT) throw err
              c.log.warn({ from, err: errorMessage(err) }, `dropped a message from ${from}: ${errorMessage(err)}`)
            }
          }
          break
        case 'sync': c.catchUp.onSyncRequest(from, frame.body.from); break
        case 'batches': c.catchUp.onBatches(from, frame.body.batches); break
        case 'evidence': c.evidence.onEvidence(frame.body); break
      }
    } catch (err) {
      if (err instanceof CommitteeError && err.code === CommitteeErrorCode.INCONSISTENT) throw err
      c.log[member ? 'warn' : 'debug']({ from, kind: frame.kind, err: errorMessage(err) }, `dropped ${frame.kind} from ${from}: ${errorMessage(err)}`)
    }
  }
}

/** `committeeNode(init)(components)`: a validator (or, outside the committee, a follower). */
export function committeeNode (init: CommitteeNodeInit): (components: CommitteeComponents) => CommitteeNode {
  return (components) => new CommitteeNodeImpl(init, components)
}
