// A committee validator with no network of its own: messages come in through handleMessage and
// submit, go out through the injected transport; time comes from the injected clock, so the same
// code runs in the daemon, in tests and in the deterministic simulator.
import { signMessage } from '../wire/envelope.ts'
import type { SignedMessage, Signer } from '../wire/envelope.ts'
import { encodeCbor, decodeCbor } from '../wire/codec.ts'
import { MAX_CLOCK_SKEW_MS, MAX_MESSAGE_AGE_MS, MAX_ENVELOPE_BYTES, MessageTag } from '../wire/constants.ts'
import type { OrderBody } from '../wire/messages/order.ts'
import type { BidBody } from '../wire/messages/bid.ts'
import type { CommitteeSignature } from '../wire/messages/lease-certificate.ts'
import type { LeaseCertificateBody } from '../wire/messages/lease-certificate.ts'
import { verify as verifyNative } from '../identity/ed25519.ts'
import type { Store } from '../store/index.ts'
import { CommitteeTag, Defaults, FUTURE_HEIGHTS, MAX_BATCH_ITEMS, MAX_EVIDENCE, MAX_HAVE, MAX_WANT, SYNC_BATCHES, VoteType, ChangeAction } from './constants.ts'
import type { ProposalBody, VoteBody, HeaderBody, ChangeBody, ApproveBody } from './messages.ts'
import { PROPOSAL_ITEM_BUDGET } from './messages.ts'
import { batchValue, encodeHeader, finalizeBytes, idsHash, medianTime } from './batch.ts'
import type { BatchValue } from './batch.ts'
import { HeightConsensus, Step } from './consensus.ts'
import type { HeightHost, TimeoutKind, Validity } from './consensus.ts'
import { Ledger, ITEM_TAGS } from './ledger.ts'
import type { Plan, Lease, Expiry, Closure, PendingChange } from './ledger.ts'
import { addFileSignature, committeeFileToJson, fileSigningBytes, committeeFileFromJson } from './committee-file.ts'
import type { CommitteeFile, CommitteeInfo, Verifier } from './committee-file.ts'
import { committeePersistence } from './persist.ts'
import type { CommitteePersistence, SignedKind } from './persist.ts'
import { encodeFrame, decodeFrame } from './frames.ts'
import type { FinalizeSig, FileSig, Status, SyncBatch, EvidenceFrame } from './frames.ts'
import { Verdicts, ItemPool } from './pool.ts'
import { checkEvidence, finalizeEvidence, messageEvidence } from './evidence.ts'
import type { Evidence } from './evidence.ts'
import { leaseCertificate } from './certificate.ts'
import type { CertifiedBatch } from './certificate.ts'
import { merkleProofs } from './merkle.ts'
import { equal, hex } from './bytes.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'

export interface Clock {
  now: () => number
  /** runs fn after ms; returns a function that cancels it */
  setTimer: (ms: number, fn: () => void) => () => void
}

export interface Transport {
  broadcast: (data: Uint8Array) => void
  send: (peer: string, data: Uint8Array) => void
}

export interface CommitteeNodeInit {
  /** the genesis committee file, or the chain of files from the genesis on */
  committee: CommitteeFile | CommitteeFile[]
  batchIntervalMs?: number
  /** the pause when a bid deadline is due: the batches that settle an auction follow each other closely */
  minBatchIntervalMs?: number
  /** the pause when there is nothing to order; work arriving ends it (protocols/committee.md §4.1) */
  idleBatchIntervalMs?: number
  proposeTimeoutMs?: number
  proposeTimeoutDeltaMs?: number
  voteTimeoutMs?: number
  voteTimeoutDeltaMs?: number
  maxTimeoutMs?: number
  statusIntervalMs?: number
  fetchDelayMs?: number
  /** rebroadcast accepted submissions to the other validators (off when gossip already does) */
  relay?: boolean
  /** most items waiting for a batch */
  maxPool?: number
}

export interface CommitteeComponents {
  signer: Signer
  store: Store
  clock: Clock
  transport: Transport
  /** uniform in [0, 1); nonces come from it (seeded in the simulator) */
  random?: () => number
  /** signature check; the native ed25519 path with the key rule by default */
  verifier?: Verifier
  logger?: (line: string) => void
}

export interface BatchEvent { height: number, epoch: number, header: Uint8Array, time: number, items: number, leases: number, expired: number }
export interface CertifiedEvent { height: number, epoch: number, header: Uint8Array, signatures: number }
export interface LeaseEvent { lease: Lease, certificate: LeaseCertificateBody }

export interface CommitteeEvents {
  batch: BatchEvent
  certified: CertifiedEvent
  lease: LeaseEvent
  expired: Expiry
  closed: Closure
  evidence: Evidence
  epoch: CommitteeFile
}

export interface SubmitResult { accepted: boolean, id?: string, reason?: string }

export interface SubmitOptions {
  /**
   * The caller checked the message's signature under the souk key rule already (a message the
   * gossip validator accepted): the committee reuses that verdict instead of checking again.
   */
  verified?: boolean
}

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
}

export interface CommitteeNode {
  start: () => void
  stop: () => void
  handleMessage: (from: string, data: Uint8Array) => void
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
  /** the committee files known, signed, from the genesis on */
  committeeFiles: () => CommitteeFile[]
  committeeAt: (height: number) => CommitteeInfo
  on: <K extends keyof CommitteeEvents>(type: K, fn: (e: CommitteeEvents[K]) => void) => () => void
}

interface CertState {
  epoch: number
  header: Uint8Array
  bodyHash: Uint8Array
  committee: CommitteeInfo
  sigs: Map<number, Uint8Array>
  /** first finalize signature seen per validator, whatever its header (for evidence) */
  seen: Map<number, FinalizeSig>
  plan?: Plan
  done: boolean
}

interface PendingSync { value: BatchValue, precommits: Array<SignedMessage<VoteBody>>, from: string, signatures?: Uint8Array }

const KEEP_CERT_HEIGHTS = 256

class CommitteeNodeImpl implements CommitteeNode {
  private readonly init: Required<Omit<CommitteeNodeInit, 'committee'>>
  private readonly signer: Signer
  private readonly clock: Clock
  private readonly transport: Transport
  private readonly random: () => number
  private readonly verifier: Verifier
  private readonly log: (line: string) => void
  private readonly persist: CommitteePersistence
  private readonly verdicts: Verdicts
  private readonly pool: ItemPool
  private readonly ledger: Ledger
  private readonly files = new Map<number, CommitteeFile>()
  private readonly listeners = new Map<string, Set<(e: any) => void>>()
  private readonly timers = new Set<() => void>()
  private cur: HeightConsensus | null = null
  private lastCommit: Array<SignedMessage<VoteBody>> = []
  private readonly future = new Map<number, Array<{ from: string, msg: SignedMessage }>>()
  private readonly plans = new Map<string, Plan | 'invalid'>()
  private readonly missing = new Map<string, number>() // item id → when last asked for (0: not yet)
  private readonly proposalFrom = new Map<string, string>()
  /** per batch value: the items it names that this node still lacks */
  private readonly waiting = new Map<string, Set<string>>()
  private readonly certs = new Map<number, CertState>()
  private readonly pendingFins = new Map<number, FinalizeSig[]>()
  private readonly pendingFileSigs = new Map<number, FileSig[]>()
  private readonly syncPending = new Map<number, PendingSync>()
  private readonly peerStatus = new Map<string, { height: number, round: number, at: number }>()
  private readonly evidenceList: Evidence[] = []
  private readonly evidenceKeys = new Set<string>()
  private lowestUncertified = 1
  private running = false
  private roundStartPending = false
  /** the pending round 0 start is an idle pause that work may cut short */
  private idlePause = false
  private lastSyncAsk = 0
  private retryPending = false
  /** what this node signed at the current height (mirrors the store, saves reading it back) */
  private own: { height: number, rows: Array<{ round: number, bytes: Uint8Array }> } = { height: 0, rows: [] }

  constructor (init: CommitteeNodeInit, c: CommitteeComponents) {
    const batchIntervalMs = init.batchIntervalMs ?? Defaults.batchIntervalMs
    this.init = {
      batchIntervalMs,
      minBatchIntervalMs: Math.min(init.minBatchIntervalMs ?? Defaults.minBatchIntervalMs, batchIntervalMs),
      idleBatchIntervalMs: Math.max(init.idleBatchIntervalMs ?? Defaults.idleBatchIntervalMs, batchIntervalMs),
      proposeTimeoutMs: init.proposeTimeoutMs ?? Defaults.proposeTimeoutMs,
      proposeTimeoutDeltaMs: init.proposeTimeoutDeltaMs ?? Defaults.proposeTimeoutDeltaMs,
      voteTimeoutMs: init.voteTimeoutMs ?? Defaults.voteTimeoutMs,
      voteTimeoutDeltaMs: init.voteTimeoutDeltaMs ?? Defaults.voteTimeoutDeltaMs,
      maxTimeoutMs: init.maxTimeoutMs ?? Defaults.maxTimeoutMs,
      statusIntervalMs: init.statusIntervalMs ?? Defaults.statusIntervalMs,
      fetchDelayMs: init.fetchDelayMs ?? Defaults.fetchDelayMs,
      relay: init.relay ?? true,
      maxPool: init.maxPool ?? 200_000
    }
    this.signer = c.signer
    this.clock = c.clock
    this.transport = c.transport
    this.random = c.random ?? Math.random
    this.verifier = c.verifier ?? verifyNative
    this.log = c.logger ?? (() => {})
    this.persist = committeePersistence(c.store)
    this.verdicts = new Verdicts(this.verifier)
    this.pool = new ItemPool(this.init.maxPool)
    const chain = Array.isArray(init.committee) ? init.committee : [init.committee]
    if (chain.length === 0 || chain[0].info.epoch !== 0) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, 'the committee chain must start with the genesis file')
    this.ledger = new Ledger(chain[0].info)
    for (const f of chain) this.files.set(f.info.epoch, f)
    for (const row of this.persist.files()) {
      try { const f = committeeFileFromJson(JSON.parse(row.json)); if (!this.files.has(f.info.epoch)) this.files.set(f.info.epoch, f) } catch {}
    }
  }

  // ---- public ----

  on<K extends keyof CommitteeEvents> (type: K, fn: (e: CommitteeEvents[K]) => void): () => void {
    let s = this.listeners.get(type)
    if (s == null) { s = new Set(); this.listeners.set(type, s) }
    s.add(fn)
    return () => { s.delete(fn) }
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.restore()
    this.heartbeat()
  }

  stop (): void {
    this.running = false
    this.retryPending = false
    for (const cancel of this.timers) cancel()
    this.timers.clear()
  }

  committeeAt (height: number): CommitteeInfo { return this.ledger.committeeAt(height) }

  /** files valid so far: the genesis, and each later one once the previous epoch's threshold signed it */
  committeeFiles (): CommitteeFile[] {
    const out: CommitteeFile[] = []
    const sorted = [...this.files.values()].sort((a, b) => a.info.epoch - b.info.epoch)
    for (const f of sorted) {
      const prev = out.at(-1)
      if (f.info.epoch !== 0 && (prev == null || prev.info.epoch !== f.info.epoch - 1 || f.signatures.length < prev.info.threshold)) break
      out.push(f)
    }
    return out
  }

  evidence (): Evidence[] { return [...this.evidenceList] }

  status (): CommitteeStatus {
    const c = this.cur
    const committee = this.ledger.committeeAt(this.ledger.height + 1)
    return {
      height: this.ledger.height + 1,
      round: c?.round ?? -1,
      step: c == null || c.step === Step.PROPOSE ? 'propose' : c.step === Step.PREVOTE ? 'prevote' : 'precommit',
      epoch: committee.epoch,
      validator: committee.index.has(hex(this.signer.publicKey)),
      time: this.ledger.time,
      head: hex(this.ledger.head),
      pool: this.pool.size,
      openOrders: this.ledger.openOrders,
      verified: this.verdicts.stats.verified,
      verifyCacheHits: this.verdicts.stats.cached,
      verifyAdopted: this.verdicts.stats.adopted,
      shed: this.verdicts.stats.shed,
      idle: this.idlePause && this.roundStartPending,
      rejected: this.verdicts.stats.rejected,
      evidence: this.evidenceList.length,
      members: committee.validators.map((v) => hex(v)),
      leader: hex(committee.validators[(this.ledger.height + 1 + Math.max(0, c?.round ?? 0)) % committee.validators.length]),
      peers: [...this.peerStatus].map(([peer, x]) => ({ peer, height: x.height, round: x.round, behind: Math.max(0, this.ledger.height + 1 - x.height), seenAt: x.at })),
      changes: this.ledger.pendingChanges()
    }
  }

  submit (msg: SignedMessage | Uint8Array, opts: SubmitOptions = {}): SubmitResult {
    let m: SignedMessage
    try {
      if (msg instanceof Uint8Array) m = this.verdicts.open(msg, ITEM_TAGS, this.hopeless)
      else {
        const shed = this.shed(msg)
        if (shed != null) return { accepted: false, id: msg.idHex, reason: shed }
        m = opts.verified === true ? this.verdicts.adopt(msg, ITEM_TAGS) : this.verdicts.open(msg.bytes, ITEM_TAGS)
      }
    } catch (err: any) {
      return { accepted: false, reason: String(err?.message ?? err) }
    }
    return this.admit(m, { relay: this.init.relay, requested: false })
  }

  requestChange (action: ChangeAction): SignedMessage<ChangeBody> {
    const epoch = this.ledger.committeeAt(this.ledger.height + 1).epoch
    const m = signMessage<ChangeBody>(this.signer, CommitteeTag.CHANGE, { epoch, action, validator: this.signer.publicKey }, this.signOpts())
    this.admit(m, { relay: true, requested: false })
    return m
  }

  approveChange (changeId: Uint8Array): SignedMessage<ApproveBody> {
    const committee = this.ledger.committeeAt(this.ledger.height + 1)
    if (!committee.index.has(hex(this.signer.publicKey))) throw new CommitteeError(CommitteeErrorCode.NOT_VALIDATOR, 'only a validator of the current epoch approves changes')
    const m = signMessage<ApproveBody>(this.signer, CommitteeTag.APPROVE, { epoch: committee.epoch, change: changeId }, this.signOpts())
    this.admit(m, { relay: true, requested: false })
    return m
  }

  handleMessage (from: string, data: Uint8Array): void {
    if (!this.running) return
    let frame
    try {
      frame = decodeFrame(data)
    } catch (err: any) {
      this.log(`bad frame from ${from}: ${String(err?.message ?? err)}`)
      return
    }
    try {
      switch (frame.kind) {
        case 'msg': this.onEnvelope(from, frame.body, false); break
        case 'fin': this.onFinalize(frame.body); break
        case 'fsig': this.onFileSig(frame.body); break
        case 'status': this.onStatus(from, frame.body); break
        case 'want': this.onWant(from, frame.body.ids); break
        case 'have':
          // one bad message does not cost the others
          for (const m of frame.body.msgs) {
            try { this.onEnvelope(from, m, true) } catch (err: any) {
              if (err instanceof CommitteeError && err.code === CommitteeErrorCode.INCONSISTENT) throw err
              this.log(`dropped a message from ${from}: ${String(err?.message ?? err)}`)
            }
          }
          break
        case 'sync': this.onSyncRequest(from, frame.body.from); break
        case 'batches': this.onBatches(from, frame.body.batches); break
        case 'evidence': this.onEvidence(frame.body); break
      }
    } catch (err: any) {
      if (err instanceof CommitteeError && err.code === CommitteeErrorCode.INCONSISTENT) throw err
      this.log(`dropped ${frame.kind} from ${from}: ${String(err?.message ?? err)}`)
    }
  }

  // ---- helpers ----

  private emit<K extends keyof CommitteeEvents> (type: K, e: CommitteeEvents[K]): void {
    const s = this.listeners.get(type)
    if (s == null) return
    for (const fn of s) fn(e)
  }

  private timer (ms: number, fn: () => void): void {
    let cancel: (() => void) | undefined
    const wrapped = (): void => {
      if (cancel != null) this.timers.delete(cancel)
      if (this.running) fn()
    }
    cancel = this.clock.setTimer(Math.max(0, ms), wrapped)
    this.timers.add(cancel)
  }

  private nonce (): Uint8Array {
    const n = new Uint8Array(16)
    for (let i = 0; i < 16; i++) n[i] = Math.floor(this.random() * 256)
    return n
  }

  private signOpts (createdAt?: number): { createdAt: number, nonce: Uint8Array } {
    return { createdAt: createdAt ?? this.clock.now(), nonce: this.nonce() }
  }

  private send (peer: string, f: Parameters<typeof encodeFrame>[0]): void { this.transport.send(peer, encodeFrame(f)) }
  private broadcast (f: Parameters<typeof encodeFrame>[0]): void { this.transport.broadcast(encodeFrame(f)) }

  private myIndex (c: CommitteeInfo): number { return c.index.get(hex(this.signer.publicKey)) ?? -1 }

  private timeoutMs (kind: TimeoutKind, round: number): number {
    const i = this.init
    const ms = kind === 'propose' ? i.proposeTimeoutMs + round * i.proposeTimeoutDeltaMs : i.voteTimeoutMs + round * i.voteTimeoutDeltaMs
    return Math.min(ms, i.maxTimeoutMs)
  }

  // ---- intake ----

  /**
   * Why a bid can no longer count, judged on this node's clock before its signature is checked:
   * it expired, its order settled, or its order's bid window closed. Under overload this spends
   * the signature checks on bids that can still win (protocols/committee.md §5). A bid a
   * proposal asked for is always taken: the batch's time judges it, not this clock.
   */
  shed (m: SignedMessage): string | undefined {
    const why = this.hopeless(m)
    if (why != null) this.verdicts.stats.shed++
    return why
  }

  private readonly hopeless = (m: SignedMessage): string | undefined => {
    if (m.tag !== MessageTag.BID || this.missing.has(m.idHex)) return undefined
    const b = m.body as BidBody
    const now = this.clock.now()
    if (b.expiresAt <= now) return 'the bid expired'
    const o = hex(b.order)
    if (this.ledger.isIncluded(o) && !this.ledger.isOpenOrder(o)) return 'its order is settled'
    const deadline = this.ledger.deadlineOf(o) ?? (this.pool.get(o)?.body as OrderBody | undefined)?.bidDeadline
    if (deadline != null && deadline <= now) return 'its order\'s bid window closed'
    return undefined
  }

  private onEnvelope (from: string, bytes: Uint8Array, requested: boolean): void {
    let m: SignedMessage
    try {
      m = this.verdicts.open(bytes, undefined, this.hopeless)
    } catch (err) {
      if (err instanceof CommitteeError && err.code === CommitteeErrorCode.SHED) return // counted; not worth a log line
      throw err
    }
    if (m.tag === CommitteeTag.PROPOSAL) this.onProposal(from, m as SignedMessage<ProposalBody>)
    else if (m.tag === CommitteeTag.VOTE) this.onVote(from, m as SignedMessage<VoteBody>)
    else if (ITEM_TAGS.includes(m.tag)) this.admit(m, { relay: false, requested })
  }

  private admit (m: SignedMessage, opts: { relay: boolean, requested: boolean }): SubmitResult {
    if (this.ledger.isIncluded(m.idHex)) return { accepted: false, id: m.idHex, reason: 'already ordered' }
    if (this.pool.has(m.idHex)) return { accepted: true, id: m.idHex, reason: 'duplicate' }
    // an item a proposal names is judged by the batch's time, not this node's clock
    const wanted = this.missing.has(m.idHex)
    if (!wanted) {
      const now = this.clock.now()
      if (m.createdAt > now + MAX_CLOCK_SKEW_MS) return { accepted: false, id: m.idHex, reason: 'created in the future' }
      if (m.createdAt < now - MAX_MESSAGE_AGE_MS) return { accepted: false, id: m.idHex, reason: 'too old' }
    }
    if (m.tag === CommitteeTag.CHANGE && !equal(m.signer, (m.body as ChangeBody).validator)) return { accepted: false, id: m.idHex, reason: 'a change is signed by the validator it names' }
    if (!this.pool.add(m)) return { accepted: false, id: m.idHex, reason: 'pool full' }
    this.wake()
    if (opts.relay) this.broadcast({ kind: 'msg', body: m.bytes })
    if (wanted) {
      this.missing.delete(m.idHex)
      // re-check a batch only once the last item it waited for is here
      let complete = false
      for (const [v, ids] of this.waiting) {
        if (ids.delete(m.idHex) && ids.size === 0) { this.waiting.delete(v); complete = true }
      }
      if (complete) this.afterArrival()
    }
    return { accepted: true, id: m.idHex }
  }

  /** something a pending validation waited for arrived */
  private afterArrival (): void {
    this.cur?.process()
    this.drainSync()
  }

  private onProposal (from: string, m: SignedMessage<ProposalBody>): void {
    const h = m.body.height
    if (h <= this.ledger.height) return
    if (h > this.ledger.height + 1) { this.buffer(from, m); return }
    const c = this.cur
    if (c == null) return
    if (m.body.epoch !== c.committee.epoch) return
    this.wake()
    const v = batchValue(m)
    if (!this.proposalFrom.has(v.hashHex)) this.proposalFrom.set(v.hashHex, from)
    c.addProposal(v)
  }

  private onVote (from: string, m: SignedMessage<VoteBody>): void {
    const h = m.body.height
    if (h === this.ledger.height && m.body.type === VoteType.PRECOMMIT && equal(m.body.value, this.ledger.head)) {
      // a late precommit for the last batch: more timestamps for the next lastCommit are harmless
      return
    }
    if (h <= this.ledger.height) return
    if (h > this.ledger.height + 1) { this.buffer(from, m); return }
    const c = this.cur
    if (c == null) return
    const idx = c.committee.index.get(hex(m.signer))
    if (idx != null) this.wake()
    if (idx == null || m.body.epoch !== c.committee.epoch) return
    c.addVote(m, idx)
  }

  private buffer (from: string, m: SignedMessage<ProposalBody> | SignedMessage<VoteBody>): void {
    const h = m.body.height
    if (h <= this.ledger.height + FUTURE_HEIGHTS) {
      const list = this.future.get(h) ?? []
      if (list.length < 4096) list.push({ from, msg: m })
      this.future.set(h, list)
    }
    // someone is ahead: ask for the batches this node lacks (at most once per batch interval)
    const now = this.clock.now()
    if (h > this.ledger.height + 1 && now - this.lastSyncAsk >= this.init.batchIntervalMs) {
      this.lastSyncAsk = now
      this.send(from, { kind: 'sync', body: { from: this.ledger.height + 1 } })
    }
  }

  // ---- the consensus host ----

  private host (): HeightHost {
    return {
      validate: (v) => this.validate(v),
      propose: (round, valid, validRound) => this.propose(round, valid, validRound),
      vote: (type, round, value) => this.vote(type, round, value),
      decide: (round, v, precommits) => this.commit(v, precommits),
      schedule: (kind, round) => {
        const h = this.ledger.height + 1
        this.timer(this.timeoutMs(kind, round), () => {
          if (this.cur?.height !== h) return
          this.log(`timeout ${kind} h=${h} r=${round} (at r=${this.cur.round} step=${this.cur.step})`)
          this.retransmit(kind)
          this.cur.onTimeout(kind, round)
        })
      },
      missingProposal: (_round, value) => {
        const c = this.cur
        if (c == null) return
        // ask the validators who precommitted it: they hold the proposal
        const voters = [...c.precommits.values()].flatMap((s) => s.withValue(value))
        const now = this.clock.now()
        if (voters.length > 0 && now - this.lastSyncAsk >= this.init.batchIntervalMs) {
          this.lastSyncAsk = now
          this.broadcast({ kind: 'sync', body: { from: c.height } })
        }
      },
      conflict: (a, b, kind) => {
        const e = messageEvidence(a, b, kind)
        if (e != null) this.addEvidence(e, true)
      }
    }
  }

  /**
   * On a timeout: resend what this node signed at the height and relay the votes it holds for the
   * rounds that matter (a polka it saw must reach the others even if its Byzantine voters went
   * quiet), and ask again for missing items. Needed only when messages were lost.
   */
  private retransmit (_kind: TimeoutKind): void {
    const c = this.cur
    if (c == null) return
    for (const b of this.heightMessages(c, c.round)) this.transport.broadcast(encodeFrame({ kind: 'msg', body: b }))
    if (this.missing.size > 0) this.askMissing(undefined)
  }

  /** own messages of the current height, plus proposals and votes held for the rounds that matter */
  private heightMessages (c: HeightConsensus, peerRound: number): Uint8Array[] {
    const out: Uint8Array[] = []
    const seen = new Set<Uint8Array>()
    const add = (b: Uint8Array): void => { if (!seen.has(b)) { seen.add(b); out.push(b) } }
    const rounds = new Set([c.round, c.round - 1, peerRound, c.validRound, c.lockedRound].filter((r) => r >= 0))
    for (const r of [c.round, peerRound]) {
      for (const p of c.proposals.get(r) ?? []) if (p.msg.body.validRound >= 0) rounds.add(p.msg.body.validRound)
    }
    // own messages: recent rounds, and the rounds a re-proposal's polka lies in (the owner may be
    // the only one left holding its vote after restarts)
    for (const row of this.ownAt(c.height)) if (row.round >= Math.min(c.round, peerRound) - 1 || rounds.has(row.round)) add(row.bytes)
    for (const p of c.proposals.get(c.round) ?? []) add(p.msg.bytes)
    for (const p of c.proposals.get(peerRound) ?? []) add(p.msg.bytes)
    for (const r of rounds) {
      for (const v of c.prevotes.get(r)?.all() ?? []) add(v.bytes)
      for (const v of c.precommits.get(r)?.all() ?? []) add(v.bytes)
    }
    return out
  }

  private ownAt (height: number): Array<{ round: number, bytes: Uint8Array }> {
    if (this.own.height !== height) this.own = { height, rows: this.persist.signedAt(height).map((r) => ({ round: r.round, bytes: r.bytes })) }
    return this.own.rows
  }

  private record (row: { kind: SignedKind, height: number, round: number, value: Uint8Array, bytes: Uint8Array }, lock?: BatchValue): void {
    const plan = lock == null ? undefined : this.plans.get(lock.hashHex)
    const items = plan != null && plan !== 'invalid' ? plan.items.map((m) => ({ id: m.id, bytes: m.bytes })) : undefined
    this.persist.recordSigned(row, lock?.msg.bytes, items)
    if (row.kind !== 'finalize' && row.kind !== 'file') this.ownAt(row.height).push({ round: row.round, bytes: row.bytes })
  }

  private newHeight (): void {
    const h = this.ledger.height + 1
    const committee = this.ledger.committeeAt(h)
    this.cur = new HeightConsensus(h, committee, this.myIndex(committee), this.host())
    this.plans.clear()
    this.proposalFrom.clear()
    this.waiting.clear()
    this.missing.clear()
    const buffered = this.future.get(h) ?? []
    this.future.delete(h)
    for (const k of this.future.keys()) if (k < h) this.future.delete(k)
    for (const { from, msg } of buffered) {
      if (msg.tag === CommitteeTag.PROPOSAL) this.onProposal(from, msg as SignedMessage<ProposalBody>)
      else this.onVote(from, msg as SignedMessage<VoteBody>)
    }
  }

  private scheduleRoundZero (mayIdle = true): void {
    const c = this.cur
    if (c == null) return
    const delay = this.roundZeroDelay(mayIdle)
    this.roundStartPending = true
    this.idlePause = delay > this.init.batchIntervalMs
    this.timer(delay, () => { this.startRoundZero(c) })
  }

  private startRoundZero (c: HeightConsensus): void {
    if (this.cur !== c || c.round >= 0 || c.decided) return
    this.roundStartPending = false
    this.idlePause = false
    c.startRound(0)
  }

  /** Work arrived during an idle pause: the height starts after the short pause instead. */
  private wake (): void {
    if (!this.idlePause || !this.roundStartPending) return
    this.idlePause = false
    const c = this.cur
    if (c != null) this.timer(this.init.minBatchIntervalMs, () => { this.startRoundZero(c) })
  }

  /** nothing waits to be ordered: no item in the pool, no membership change under way */
  private quiet (): boolean {
    return this.pool.size === 0 && this.ledger.pendingChanges().length === 0 && this.ledger.pendingTransition == null
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
    const { batchIntervalMs: full, minBatchIntervalMs: min, idleBatchIntervalMs: idle } = this.init
    const cap = mayIdle && this.quiet() ? idle : full
    const due = this.ledger.nextDeadline()
    if (due == null) return cap
    const lc = this.lastCommitFor(this.ledger.height + 1)
    if (lc != null && due <= lc.time) return min
    return Math.max(min, Math.min(cap, due - this.clock.now()))
  }

  // ---- building and checking batches ----

  private lastCommitFor (h: number): { votes: Array<SignedMessage<VoteBody>>, time: number } | undefined {
    if (h === 1) return { votes: [], time: this.ledger.genesis.genesisTime }
    const prev = this.ledger.committeeAt(h - 1)
    const votes = this.lastCommit.filter((v) => v.body.height === h - 1 && equal(v.body.value, this.ledger.head))
    if (votes.length < prev.threshold) return undefined
    return { votes, time: medianTime(votes.map((v) => v.createdAt)) }
  }

  private propose (round: number, valid: BatchValue | null, validRound: number): BatchValue | undefined {
    const h = this.ledger.height + 1
    this.log(`propose h=${h} r=${round} valid=${valid?.hashHex.slice(0, 8) ?? '-'}`)
    const stored = this.persist.signed('proposal', h, round)
    if (stored != null) {
      const m = this.verdicts.trusted(stored.bytes) as SignedMessage<ProposalBody>
      this.broadcast({ kind: 'msg', body: m.bytes })
      return batchValue(m)
    }
    const committee = this.ledger.committeeAt(h)
    let body: ProposalBody
    let plan: Plan | undefined
    if (valid != null) {
      body = { ...valid.msg.body, round, validRound }
      // the polka that makes the value acceptable to locked validators goes along with it
      for (const v of this.cur?.prevotes.get(validRound)?.withValue(valid.hashHex) ?? []) this.broadcast({ kind: 'msg', body: v.bytes })
    } else {
      const lc = this.lastCommitFor(h)
      if (lc == null) { this.log(`cannot propose at ${h}: no last commit`); return undefined }
      const items = this.pickItems(lc.time, lc.votes)
      plan = this.ledger.plan(h, lc.time, items)
      const header: HeaderBody = {
        chain: this.ledger.chain,
        epoch: committee.epoch,
        height: h,
        parent: this.ledger.head,
        time: lc.time,
        proposer: this.signer.publicKey,
        lastCommit: idsHash(lc.votes.map((v) => v.id)),
        items: idsHash(items.map((m) => m.id)),
        itemCount: items.length,
        leaseCount: plan.leases.length,
        outcomes: plan.outcomes,
        next: plan.next?.hash ?? new Uint8Array(0)
      }
      body = { epoch: committee.epoch, height: h, round, validRound: -1, header: encodeHeader(header), leaseRoot: plan.leaseRoot, items: items.map((m) => m.id), lastCommit: lc.votes.map((v) => v.bytes) }
    }
    const m = signMessage<ProposalBody>(this.signer, CommitteeTag.PROPOSAL, body, this.signOpts())
    const v = batchValue(m)
    if (plan != null) this.plans.set(v.hashHex, plan)
    this.record({ kind: 'proposal', height: h, round, value: v.hash, bytes: m.bytes })
    this.verdicts.trusted(m.bytes)
    this.broadcast({ kind: 'msg', body: m.bytes })
    return v
  }

  /**
   * Items for a new batch: orders first (a late order can only expire), then the rest in pool
   * order; fresh; bids only for orders final or in this batch whose window is still open (a bid
   * after the deadline cannot count, so it only takes room and is dropped).
   */
  private pickItems (time: number, lastCommit: Array<SignedMessage<VoteBody>>): SignedMessage[] {
    let budget = PROPOSAL_ITEM_BUDGET - lastCommit.reduce((s, v) => s + v.bytes.length + 3, 0)
    const out: SignedMessage[] = []
    const orders = new Map<string, number>()
    const dead: string[] = []
    for (const pass of [0, 1]) {
      for (const m of this.pool.values()) {
        if (out.length >= MAX_BATCH_ITEMS || budget < 40) break
        const isOrder = m.tag === MessageTag.ORDER
        if ((pass === 0) !== isOrder) continue
        if (this.ledger.itemProblem(m, time) != null) continue
        if (m.tag === MessageTag.BID) {
          const o = hex((m.body as BidBody).order)
          const deadline = this.ledger.deadlineOf(o) ?? orders.get(o)
          if (deadline == null) {
            // an order matched or expired already: the bid can never count
            if (this.ledger.isIncluded(o)) dead.push(m.idHex)
            continue
          }
          if (deadline <= time) { dead.push(m.idHex); continue }
        }
        if (isOrder) orders.set(m.idHex, (m.body as OrderBody).bidDeadline)
        out.push(m)
        budget -= 35
      }
    }
    for (const id of dead) this.pool.delete(id)
    return out
  }

  private validate (v: BatchValue): Validity {
    const cached = this.plans.get(v.hashHex)
    if (cached != null) return cached === 'invalid' ? 'invalid' : 'valid'
    const r = this.check(v)
    if (r === 'pending') return 'pending'
    if (typeof r === 'string') {
      this.log(`proposal ${v.hashHex.slice(0, 12)} at ${v.header.height} r=${v.msg.body.round} is invalid: ${r}`)
      this.plans.set(v.hashHex, 'invalid')
      return 'invalid'
    }
    this.plans.set(v.hashHex, r)
    return 'valid'
  }

  /** a plan when the batch is valid, 'pending' when items are missing, else the reason */
  private check (v: BatchValue): Plan | 'pending' | string {
    if ((this.waiting.get(v.hashHex)?.size ?? 0) > 0) { this.fetchMissing(v.hashHex); return 'pending' }
    const h = this.ledger.height + 1
    const hd = v.header
    const committee = this.ledger.committeeAt(h)
    if (hd.height !== h) return `height ${hd.height}, expected ${h}`
    if (hd.epoch !== committee.epoch) return `epoch ${hd.epoch}, expected ${committee.epoch}`
    if (!equal(hd.chain, this.ledger.chain)) return 'another chain'
    if (!equal(hd.parent, this.ledger.head)) return 'wrong parent'
    if (!committee.index.has(hex(hd.proposer))) return 'proposer is not a validator'
    // last commit and committee time
    const lc = v.msg.body.lastCommit
    let time: number
    if (h === 1) {
      if (lc.length !== 0) return 'height 1 has no last commit'
      time = this.ledger.genesis.genesisTime
    } else {
      const prev = this.ledger.committeeAt(h - 1)
      const signers = new Set<number>()
      const votes: Array<SignedMessage<VoteBody>> = []
      let round = -1
      for (const b of lc) {
        let m: SignedMessage<VoteBody>
        try { m = this.verdicts.open(b, CommitteeTag.VOTE) as SignedMessage<VoteBody> } catch (err: any) { return `last commit: ${String(err?.message ?? err)}` }
        const vb = m.body
        if (vb.type !== VoteType.PRECOMMIT || vb.height !== h - 1 || vb.epoch !== prev.epoch || !equal(vb.value, this.ledger.head)) return 'last commit holds a vote for something else'
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
    if (h > 1 && time <= this.ledger.time) return 'time does not advance'
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
      const m = this.pool.get(k) ?? this.verdicts.byMessageId(k)
      if (m == null) {
        lacking.add(k)
        if (!this.missing.has(k)) this.missing.set(k, 0)
        continue
      }
      const why = this.ledger.itemProblem(m, time)
      if (why != null) return `item ${k.slice(0, 12)}: ${why}`
      items.push(m)
    }
    if (lacking.size > 0) {
      this.waiting.set(v.hashHex, lacking)
      this.fetchMissing(v.hashHex)
      return 'pending'
    }
    const plan = this.ledger.plan(h, time, items)
    if (!equal(plan.leaseRoot, v.msg.body.leaseRoot)) return 'lease root differs from the matching result'
    if (plan.leases.length !== hd.leaseCount) return 'lease count'
    if (!equal(plan.outcomes, hd.outcomes)) return 'outcomes differ'
    if (!equal(plan.next?.hash ?? new Uint8Array(0), hd.next)) return 'next committee differs'
    return plan
  }

  /**
   * Asks for the items a batch names and this node lacks: after a short wait (gossip usually
   * brings them), from the peer that sent the batch; again, from everyone, only if they are still
   * missing much later. Keeps a slow node from flooding its peers with requests.
   */
  private fetchMissing (valueHex: string): void {
    const peer = this.proposalFrom.get(valueHex)
    this.timer(this.init.fetchDelayMs, () => this.askMissing(peer))
  }

  private askMissing (peer: string | undefined): void {
    const now = this.clock.now()
    const retryMs = Math.max(3 * this.init.batchIntervalMs, 200)
    const ids = [...this.missing.entries()].filter(([, at]) => at === 0 || now - at >= retryMs).slice(0, MAX_WANT)
    if (ids.length === 0) return
    const first = ids.every(([, at]) => at === 0)
    for (const [k] of ids) this.missing.set(k, now)
    const f = { kind: 'want' as const, body: { ids: ids.map(([k]) => Uint8Array.from(Buffer.from(k, 'hex'))) } }
    if (peer != null && first) this.send(peer, f)
    else this.broadcast(f)
    // ask everyone again later if they are still missing (one retry timer at a time)
    if (!this.retryPending) {
      this.retryPending = true
      this.timer(retryMs, () => { this.retryPending = false; if (this.missing.size > 0) this.askMissing(undefined) })
    }
  }

  private vote (type: VoteType, round: number, value: BatchValue | null): SignedMessage<VoteBody> | undefined {
    const h = this.ledger.height + 1
    const stored = this.persist.signed(type, h, round)
    if (stored != null) {
      const m = this.verdicts.trusted(stored.bytes) as SignedMessage<VoteBody>
      this.broadcast({ kind: 'msg', body: m.bytes })
      return m
    }
    const committee = this.ledger.committeeAt(h)
    const now = this.clock.now()
    // a precommit's time must lie after the batch's own time, so committee time always advances
    const createdAt = type === VoteType.PRECOMMIT && value != null ? Math.max(now, value.header.time + 1) : now
    const m = signMessage<VoteBody>(this.signer, CommitteeTag.VOTE, { epoch: committee.epoch, height: h, round, type, value: value?.hash ?? new Uint8Array(0) }, this.signOpts(createdAt))
    this.record({ kind: type as SignedKind, height: h, round, value: value?.hash ?? new Uint8Array(0), bytes: m.bytes }, type === VoteType.PRECOMMIT && value != null ? value : undefined)
    this.verdicts.trusted(m.bytes)
    this.broadcast({ kind: 'msg', body: m.bytes })
    return m
  }

  // ---- decisions ----

  private commit (v: BatchValue, precommits: Array<SignedMessage<VoteBody>>): void {
    const h = v.header.height
    if (h !== this.ledger.height + 1) return
    const plan = this.plans.get(v.hashHex)
    if (plan == null || plan === 'invalid') throw new CommitteeError(CommitteeErrorCode.INCONSISTENT, `decided batch ${h} without a valid plan`)
    const committee = this.ledger.committeeAt(h)
    this.persist.saveBatch(
      { height: h, hash: v.hash, proposal: v.msg.bytes, commit: precommits.map((p) => p.bytes) },
      plan.items.map((m) => ({ id: m.id, bytes: m.bytes }))
    )
    this.applyDecided(v, plan, precommits, committee)
  }

  private applyDecided (v: BatchValue, plan: Plan, precommits: Array<SignedMessage<VoteBody>>, committee: CommitteeInfo, replay = false): void {
    const h = plan.height
    this.ledger.apply(plan, v.hash)
    for (const m of plan.items) { this.pool.delete(m.idHex); this.missing.delete(m.idHex) }
    this.lastCommit = precommits
    this.syncPending.delete(h)
    const cert: CertState = { epoch: committee.epoch, header: v.hash, bodyHash: v.bodyHash, committee, sigs: new Map(), seen: new Map(), plan, done: false }
    this.certs.set(h, cert)
    this.certs.delete(h - KEEP_CERT_HEIGHTS)
    if (plan.next != null) this.nextEpoch(plan.next)
    if (replay) return
    this.emit('batch', { height: h, epoch: committee.epoch, header: v.hash, time: plan.time, items: plan.items.length, leases: plan.leases.length, expired: plan.expired.length })
    this.finalize(h, cert)
    for (const f of this.pendingFins.get(h) ?? []) this.onFinalize(f)
    this.pendingFins.delete(h)
    this.newHeight()
    this.scheduleRoundZero()
    this.drainSync()
  }

  private finalize (h: number, cert: CertState): void {
    const idx = this.myIndex(cert.committee)
    if (idx < 0) return
    const stored = this.persist.signed('finalize', h, 0)
    let sig: Uint8Array
    if (stored != null) {
      if (!equal(stored.value, cert.header)) {
        this.log(`refusing to sign finalize for height ${h}: signed another header before`)
        return
      }
      sig = stored.bytes
    } else {
      sig = this.signer.sign(finalizeBytes(this.ledger.chain, cert.epoch, h, cert.header))
      this.persist.recordSigned({ kind: 'finalize', height: h, round: 0, value: cert.header, bytes: sig })
    }
    const f: FinalizeSig = { epoch: cert.epoch, height: h, header: cert.header, validator: this.signer.publicKey, sig }
    this.broadcast({ kind: 'fin', body: f })
    this.onFinalize(f)
  }

  private onFinalize (f: FinalizeSig): void {
    if (f.height > this.ledger.height) {
      if (f.height <= this.ledger.height + FUTURE_HEIGHTS + SYNC_BATCHES) {
        const list = this.pendingFins.get(f.height) ?? []
        if (list.length < 4 * 128) list.push(f)
        this.pendingFins.set(f.height, list)
      }
      return
    }
    const cert = this.certs.get(f.height)
    if (cert == null || f.epoch !== cert.epoch) return
    const idx = cert.committee.index.get(hex(f.validator))
    if (idx == null) return
    const prev = cert.seen.get(idx)
    if (prev != null) {
      if (equal(prev.header, f.header) && equal(prev.sig, f.sig)) return
      if (equal(prev.header, f.header)) return
    }
    if (!this.verifier(f.sig, finalizeBytes(this.ledger.chain, f.epoch, f.height, f.header), f.validator)) return
    if (prev != null) {
      const e = finalizeEvidence(prev, f)
      if (e != null) this.addEvidence(e, true)
      return
    }
    cert.seen.set(idx, f)
    if (!equal(f.header, cert.header)) {
      this.log(`validator ${idx} signed finalize for another header at height ${f.height}`)
      return
    }
    cert.sigs.set(idx, f.sig)
    if (!cert.done && cert.sigs.size >= cert.committee.threshold) this.certify(f.height, cert)
  }

  private certify (h: number, cert: CertState): void {
    cert.done = true
    const signatures: CommitteeSignature[] = [...cert.sigs.entries()].sort((a, b) => a[0] - b[0]).map(([validator, sig]) => ({ validator, sig }))
    this.persist.saveSignatures(h, encodeCbor(signatures))
    while (this.certs.get(this.lowestUncertified)?.done === true) this.lowestUncertified++
    const plan = cert.plan
    cert.plan = undefined
    this.emit('certified', { height: h, epoch: cert.epoch, header: cert.header, signatures: signatures.length })
    if (plan == null) return
    const batch: CertifiedBatch = { epoch: cert.epoch, height: h, header: cert.header, bodyHash: cert.bodyHash, signatures }
    if (plan.leases.length > 0 && this.listeners.get('lease')?.size !== undefined) {
      const paths = merkleProofs(plan.leaves)
      for (const l of plan.leases) this.emit('lease', { lease: l, certificate: leaseCertificate(l, paths[l.index], batch) })
    }
    for (const e of plan.expired) this.emit('expired', e)
    for (const c of plan.closed) this.emit('closed', c)
  }

  // ---- epochs ----

  private nextEpoch (info: CommitteeInfo): void {
    if (!this.files.has(info.epoch)) this.files.set(info.epoch, { info, signatures: [] })
    const prev = this.ledger.committees.find((c) => c.epoch === info.epoch - 1)
    if (prev != null && prev.index.has(hex(this.signer.publicKey))) {
      let sig: Uint8Array
      const stored = this.persist.signed('file', info.epoch, 0)
      if (stored != null && equal(stored.value, info.hash)) sig = stored.bytes
      else if (stored != null) return
      else {
        sig = this.signer.sign(fileSigningBytes(info))
        this.persist.recordSigned({ kind: 'file', height: info.epoch, round: 0, value: info.hash, bytes: sig })
      }
      const fs: FileSig = { epoch: info.epoch, file: info.hash, validator: this.signer.publicKey, sig }
      this.broadcast({ kind: 'fsig', body: fs })
      this.onFileSig(fs)
    }
    for (const s of this.pendingFileSigs.get(info.epoch) ?? []) this.onFileSig(s)
    this.pendingFileSigs.delete(info.epoch)
  }

  private onFileSig (s: FileSig): void {
    const file = this.files.get(s.epoch)
    if (file == null || file.info.previous.length === 0) {
      if (file == null && s.epoch <= this.ledger.committees.length + 1) {
        const list = this.pendingFileSigs.get(s.epoch) ?? []
        if (list.length < 256) list.push(s)
        this.pendingFileSigs.set(s.epoch, list)
      }
      return
    }
    if (!equal(s.file, file.info.hash)) return
    const prev = this.ledger.committees.find((c) => c.epoch === s.epoch - 1)
    if (prev == null || !prev.index.has(hex(s.validator))) return
    if (file.signatures.some((x) => equal(x.validator, s.validator))) return
    if (!this.verifier(s.sig, fileSigningBytes(file.info), s.validator)) return
    const before = file.signatures.length
    const next = addFileSignature(file, { validator: s.validator, sig: s.sig })
    this.files.set(s.epoch, next)
    if (before < prev.threshold && next.signatures.length >= prev.threshold) {
      this.persist.saveFile(s.epoch, JSON.stringify(committeeFileToJson(next)))
      this.emit('epoch', next)
    }
  }

  // ---- catch-up ----

  private heartbeat (): void {
    const c = this.cur
    const s: Status = { height: this.ledger.height + 1, round: Math.max(0, c?.round ?? 0), certified: this.lowestUncertified }
    this.broadcast({ kind: 'status', body: s })
    this.repeatFileSig()
    this.pool.prune(this.clock.now())
    this.timer(this.init.statusIntervalMs, () => this.heartbeat())
  }

  /**
   * A file signature is sent once when an epoch starts, and nothing else carries it: a validator
   * that missed some would never hold the new file (nor announce it). Each heartbeat repeats this
   * node's own signature of the newest file; a receiver that has it stops at a lookup.
   */
  private repeatFileSig (): void {
    let newest: CommitteeFile | undefined
    for (const f of this.files.values()) if (newest == null || f.info.epoch > newest.info.epoch) newest = f
    if (newest == null || newest.info.epoch === 0) return
    const mine = newest.signatures.find((x) => equal(x.validator, this.signer.publicKey))
    if (mine == null) return
    this.broadcast({ kind: 'fsig', body: { epoch: newest.info.epoch, file: newest.info.hash, validator: this.signer.publicKey, sig: mine.sig } })
  }

  private onStatus (from: string, s: Status): void {
    const mine = this.ledger.height + 1
    this.peerStatus.set(from, { height: s.height, round: s.round, at: this.clock.now() })
    if (this.peerStatus.size > 1024) this.peerStatus.delete(this.peerStatus.keys().next().value as string)
    if (s.height < mine) {
      this.onSyncRequest(from, s.height)
    } else if (s.height > mine) {
      this.send(from, { kind: 'sync', body: { from: mine } })
    } else if (this.cur != null) {
      // same height: what this node signed at it, and the proposals and votes it holds
      for (const b of this.heightMessages(this.cur, s.round)) this.send(from, { kind: 'msg', body: b })
    }
    // certificates the peer lacks
    for (let h = s.certified; h < Math.min(this.lowestUncertified, s.certified + SYNC_BATCHES, mine); h++) {
      const cert = this.certs.get(h)
      if (cert == null) continue
      for (const [idx, sig] of cert.sigs) this.send(from, { kind: 'fin', body: { epoch: cert.epoch, height: h, header: cert.header, validator: cert.committee.validators[idx], sig } })
    }
  }

  private onSyncRequest (from: string, start: number): void {
    const rows = this.persist.batches(start, SYNC_BATCHES)
    if (rows.length > 0) {
      const batches: SyncBatch[] = rows.map((r) => r.signatures != null ? { proposal: r.proposal, commit: r.commit, signatures: r.signatures } : { proposal: r.proposal, commit: r.commit })
      this.send(from, { kind: 'batches', body: { batches } })
    }
    if (start >= this.ledger.height + 1 && this.cur != null) {
      for (const p of this.cur.allProposals()) this.send(from, { kind: 'msg', body: p.msg.bytes })
    }
  }

  private onBatches (from: string, batches: SyncBatch[]): void {
    for (const b of batches) {
      const m = this.verdicts.open(b.proposal, CommitteeTag.PROPOSAL) as SignedMessage<ProposalBody>
      const h = m.body.height
      if (h <= this.ledger.height || this.syncPending.has(h)) continue
      const v = batchValue(m)
      const precommits = b.commit.map((x) => this.verdicts.open(x, CommitteeTag.VOTE) as SignedMessage<VoteBody>)
      this.syncPending.set(h, { value: v, precommits, from, signatures: b.signatures })
    }
    this.drainSync()
  }

  /** applies synced batches in height order while their commits check and their items are here */
  private drainSync (): void {
    for (;;) {
      const h = this.ledger.height + 1
      const p = this.syncPending.get(h)
      if (p == null) return
      const committee = this.ledger.committeeAt(h)
      const signers = new Set<number>()
      let round = -1
      for (const pc of p.precommits) {
        const idx = committee.index.get(hex(pc.signer))
        if (idx == null || pc.body.type !== VoteType.PRECOMMIT || pc.body.height !== h || pc.body.epoch !== committee.epoch || !equal(pc.body.value, p.value.hash)) continue
        if (round === -1) round = pc.body.round
        if (pc.body.round !== round) continue
        signers.add(idx)
      }
      if (signers.size < committee.threshold) { this.log(`synced batch ${h} lacks a commit`); this.syncPending.delete(h); return }
      if (!this.proposalFrom.has(p.value.hashHex)) this.proposalFrom.set(p.value.hashHex, p.from)
      const ok = this.validate(p.value)
      if (ok === 'pending') return
      if (ok === 'invalid') {
        this.log(`batch ${h} has 2f+1 precommits but does not check here`)
        this.syncPending.delete(h)
        return
      }
      const votes = p.precommits.filter((pc) => pc.body.round === round && equal(pc.body.value, p.value.hash))
      const sigs = p.signatures
      if (this.cur != null) this.cur.decided = true
      this.commit(p.value, votes)
      if (sigs != null) this.absorbSignatures(h, sigs)
    }
  }

  private absorbSignatures (h: number, bytes: Uint8Array): void {
    const cert = this.certs.get(h)
    if (cert == null) return
    let list: CommitteeSignature[]
    try { list = decodeCbor(bytes, 64 * 1024, 'signatures') as CommitteeSignature[] } catch { return }
    if (!Array.isArray(list)) return
    for (const s of list.slice(0, cert.committee.validators.length)) {
      const key = cert.committee.validators[s?.validator]
      if (key == null || !(s.sig instanceof Uint8Array) || s.sig.length !== 64) continue
      this.onFinalize({ epoch: cert.epoch, height: h, header: cert.header, validator: key, sig: s.sig })
    }
  }

  private onWant (from: string, ids: Uint8Array[]): void {
    const msgs: Uint8Array[] = []
    let size = 0
    for (const id of ids) {
      const k = hex(id)
      const b = this.pool.get(k)?.bytes ?? this.verdicts.byMessageId(k)?.bytes ?? this.persist.item(id)
      if (b == null) continue
      if (msgs.length >= MAX_HAVE || size + b.length > 3 * 1024 * 1024) {
        this.send(from, { kind: 'have', body: { msgs: msgs.splice(0) } })
        size = 0
      }
      msgs.push(b)
      size += b.length
    }
    if (msgs.length > 0) this.send(from, { kind: 'have', body: { msgs } })
  }

  // ---- evidence ----

  private addEvidence (e: Evidence, gossip: boolean): void {
    if (this.evidenceKeys.has(e.key) || this.evidenceList.length >= MAX_EVIDENCE) return
    this.evidenceKeys.add(e.key)
    this.evidenceList.push(e)
    this.persist.saveEvidence(e.key, encodeCbor({ kind: e.kind, a: e.a, b: e.b }))
    this.emit('evidence', e)
    if (gossip) this.broadcast({ kind: 'evidence', body: { kind: e.kind, a: e.a, b: e.b } })
  }

  private onEvidence (f: EvidenceFrame): void {
    const e = checkEvidence(f, this.ledger.chain, this.verifier)
    if (e != null) this.addEvidence(e, true)
  }

  // ---- restart ----

  private restore (): void {
    for (const row of this.persist.evidence()) {
      try {
        const f = decodeCbor(row.bytes, MAX_ENVELOPE_BYTES * 2 + 64, 'evidence') as EvidenceFrame
        const e = checkEvidence(f, this.ledger.chain, () => true)
        if (e != null && !this.evidenceKeys.has(e.key)) { this.evidenceKeys.add(e.key); this.evidenceList.push(e) }
      } catch {}
    }
    // replay the final batches: the ledger is a pure function of them
    const last = this.persist.lastHeight()
    for (let from = 1; from <= last; from += 256) {
      for (const row of this.persist.batches(from, 256)) {
        const v = batchValue(this.verdicts.trusted(row.proposal) as SignedMessage<ProposalBody>)
        const items = v.msg.body.items.map((id) => {
          const b = this.persist.item(id)
          if (b == null) throw new CommitteeError(CommitteeErrorCode.INCONSISTENT, `store lacks item ${hex(id)} of batch ${row.height}`)
          return this.verdicts.trusted(b)
        })
        const plan = this.ledger.plan(row.height, v.header.time, items)
        if (!equal(plan.leaseRoot, v.msg.body.leaseRoot)) throw new CommitteeError(CommitteeErrorCode.INCONSISTENT, `replaying batch ${row.height} gives another lease root`)
        const precommits = row.commit.map((b) => this.verdicts.trusted(b) as SignedMessage<VoteBody>)
        const committee = this.ledger.committeeAt(row.height)
        this.applyDecided(v, plan, precommits, committee, true)
        const cert = this.certs.get(row.height)
        if (cert != null) {
          if (row.signatures != null) { cert.done = true; cert.plan = undefined } else if (row.height > last - 16) this.finalize(row.height, cert)
        }
      }
    }
    while (this.certs.get(this.lowestUncertified)?.done === true || (this.lowestUncertified <= last && this.certs.get(this.lowestUncertified) == null)) this.lowestUncertified++
    this.newHeight()
    const c = this.cur as HeightConsensus
    // what this node signed at the current height decides where it resumes
    const rows = this.persist.signedAt(c.height)
    // a node just (re)started does not know whether the others are mid-height: no idle pause
    if (rows.length === 0) { this.scheduleRoundZero(false); return }
    const round = Math.max(...rows.map((r) => r.round))
    const at = rows.filter((r) => r.round === round)
    const step = at.some((r) => r.kind === 'precommit') ? Step.PRECOMMIT : at.some((r) => r.kind === 'prevote') ? Step.PREVOTE : Step.PROPOSE
    const lock = this.persist.lockAt(c.height)
    const lockedValue = lock == null ? null : batchValue(this.verdicts.trusted(lock.proposal) as SignedMessage<ProposalBody>)
    // the locked batch's items were stored with the lock: back into the pool, to check and to serve
    for (const id of lockedValue?.msg.body.items ?? []) {
      const b = this.persist.item(id)
      if (b != null) this.pool.add(this.verdicts.trusted(b))
    }
    c.restore({ round, step, lockedValue, lockedRound: lock?.round ?? -1 })
    if (lockedValue != null) c.addProposal(lockedValue)
    for (const r of rows) {
      const m = this.verdicts.trusted(r.bytes)
      if (r.kind === 'proposal') c.addProposal(batchValue(m as SignedMessage<ProposalBody>))
      else if (c.me >= 0) c.addVote(m as SignedMessage<VoteBody>, c.me)
      this.broadcast({ kind: 'msg', body: r.bytes })
    }
    const kind: TimeoutKind = step === Step.PROPOSE ? 'propose' : step === Step.PREVOTE ? 'prevote' : 'precommit'
    this.host().schedule(kind, round)
  }
}

/** `committeeNode(init)(components)`: a validator (or, outside the committee, a follower). */
export function committeeNode (init: CommitteeNodeInit): (components: CommitteeComponents) => CommitteeNode {
  return (components) => new CommitteeNodeImpl(init, components)
}
