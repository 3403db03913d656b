// What the parts of a committee node share: its configuration, keys, clock, transport, store,
// verdict cache, pool and ledger, the event listeners and timers, and a reference to each part
// (intake, consensus driver, certification, epochs, catch-up, evidence). Parts reach each other
// through the core; none holds another's state.
import { signMessage } from '../wire/envelope.ts'
import type { SignedMessage, Signer } from '../wire/envelope.ts'
import type { LeaseCertificateBody } from '../wire/messages/lease-certificate.ts'
import type { Store } from '../store/index.ts'
import { verify as verifyNative } from '../identity/ed25519.ts'
import { Defaults, Bounds } from './constants.ts'
import type { Ledger, Lease, Expiry, Closure } from './ledger.ts'
import type { CommitteeFile, CommitteeInfo, Verifier } from './committee-file.ts'
import type { CommitteePersistence } from './persist.ts'
import type { Verdicts, ItemPool } from './pool.ts'
import type { Evidence } from './evidence.ts'
import type { VoteBody } from './messages.ts'
import { encodeFrame } from './frames.ts'
import type { Frame } from './frames.ts'
import { hex } from './bytes.ts'
import type { Intake } from './intake.ts'
import type { Driver } from './driver.ts'
import type { Checker } from './checker.ts'
import type { Certification } from './certification.ts'
import type { Epochs } from './epochs.ts'
import type { CatchUp } from './catch-up.ts'
import type { EvidenceBook } from './evidence-book.ts'
import type { Tallier } from './tallies.ts'
import type { CommitteeMetrics } from './metrics.ts'
import { committeeLogger } from './logger.ts'
import type { CommitteeLogger, CommitteeLogLine } from './logger.ts'

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
  /** most items waiting for a batch per order (the order and its bids) */
  maxPoolPerOrder?: number
  /** most items waiting for a batch per signer */
  maxPoolPerSigner?: number
  /** how long a bid for an order this node has not seen is kept waiting for it, ms */
  unknownOrderBidMs?: number
  /** most bids for orders this node has not seen, all together */
  maxUnknownOrderBids?: number
}

/**
 * What a proposer picks among the choices the protocol leaves it. The default takes every item it
 * may carry, in pool order, and every precommit it holds for the last commit. Tests and the
 * simulator replace it to play a censoring or timestamp-picking proposer; validity (§4.1) and the
 * auction rules (§6) are what must hold against any choice.
 */
export interface ProposerPolicy {
  /** the precommits to carry as the last commit (at least the previous committee's threshold) */
  lastCommit?: (votes: Array<SignedMessage<VoteBody>>, threshold: number) => Array<SignedMessage<VoteBody>>
  /** the items to carry, among those that may go in (in the order given) */
  items?: (candidates: SignedMessage[], time: number) => SignedMessage[]
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
  /** a leveled logger (the node's, scoped), or a callback taking every line at any level */
  logger?: CommitteeLogger | CommitteeLogLine
  /** the proposer's free choices; see ProposerPolicy */
  proposer?: ProposerPolicy
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

export type ResolvedInit = Required<Omit<CommitteeNodeInit, 'committee'>>

export function resolveInit (init: CommitteeNodeInit): ResolvedInit {
  const batchIntervalMs = init.batchIntervalMs ?? Defaults.batchIntervalMs
  return {
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
    maxPool: init.maxPool ?? Bounds.POOL_ITEMS,
    maxPoolPerOrder: init.maxPoolPerOrder ?? Bounds.POOL_ITEMS_PER_ORDER,
    maxPoolPerSigner: init.maxPoolPerSigner ?? Bounds.POOL_ITEMS_PER_SIGNER,
    unknownOrderBidMs: init.unknownOrderBidMs ?? Bounds.UNKNOWN_ORDER_BID_MS,
    maxUnknownOrderBids: init.maxUnknownOrderBids ?? Bounds.UNKNOWN_ORDER_BIDS
  }
}

export class Core {
  readonly init: ResolvedInit
  readonly signer: Signer
  readonly clock: Clock
  readonly transport: Transport
  readonly random: () => number
  readonly verifier: Verifier
  readonly log: CommitteeLogger
  readonly persist: CommitteePersistence
  readonly verdicts: Verdicts
  readonly pool: ItemPool
  readonly ledger: Ledger
  readonly metrics: CommitteeMetrics
  readonly proposer: ProposerPolicy
  running = false
  // the parts, set once by the node
  intake!: Intake
  driver!: Driver
  checker!: Checker
  certs!: Certification
  epochs!: Epochs
  catchUp!: CatchUp
  evidence!: EvidenceBook
  tallies!: Tallier
  private readonly listeners: { [K in keyof CommitteeEvents]: Set<(e: CommitteeEvents[K]) => void> } = {
    batch: new Set(), certified: new Set(), lease: new Set(), expired: new Set(), closed: new Set(), evidence: new Set(), epoch: new Set()
  }
  private readonly timers = new Set<() => void>()

  constructor (init: ResolvedInit, c: CommitteeComponents, parts: { persist: CommitteePersistence, verdicts: Verdicts, pool: ItemPool, ledger: Ledger, metrics: CommitteeMetrics }) {
    this.init = init
    this.signer = c.signer
    this.clock = c.clock
    this.transport = c.transport
    this.random = c.random ?? Math.random
    this.verifier = c.verifier ?? verifyNative
    this.log = committeeLogger(c.logger)
    this.proposer = c.proposer ?? {}
    this.persist = parts.persist
    this.verdicts = parts.verdicts
    this.pool = parts.pool
    this.ledger = parts.ledger
    this.metrics = parts.metrics
  }

  on<K extends keyof CommitteeEvents> (type: K, fn: (e: CommitteeEvents[K]) => void): () => void {
    const s = this.listeners[type]
    s.add(fn)
    return () => { s.delete(fn) }
  }

  listening (type: keyof CommitteeEvents): boolean { return this.listeners[type].size > 0 }

  emit<K extends keyof CommitteeEvents> (type: K, e: CommitteeEvents[K]): void {
    for (const fn of this.listeners[type]) fn(e)
  }

  /** runs fn after ms while the node runs */
  timer (ms: number, fn: () => void): void {
    let cancel: (() => void) | undefined
    const wrapped = (): void => {
      if (cancel != null) this.timers.delete(cancel)
      if (this.running) fn()
    }
    cancel = this.clock.setTimer(Math.max(0, ms), wrapped)
    this.timers.add(cancel)
  }

  cancelTimers (): void {
    for (const cancel of this.timers) cancel()
    this.timers.clear()
  }

  nonce (): Uint8Array {
    const n = new Uint8Array(16)
    for (let i = 0; i < 16; i++) n[i] = Math.floor(this.random() * 256)
    return n
  }

  signOpts (createdAt?: number): { createdAt: number, nonce: Uint8Array } {
    return { createdAt: createdAt ?? this.clock.now(), nonce: this.nonce() }
  }

  sign<B> (tag: string, body: B, createdAt?: number): SignedMessage<B> {
    return signMessage<B>(this.signer, tag, body, this.signOpts(createdAt))
  }

  send (peer: string, f: Frame): void { this.transport.send(peer, encodeFrame(f)) }
  broadcast (f: Frame): void { this.transport.broadcast(encodeFrame(f)) }

  myIndex (c: CommitteeInfo): number { return c.index.get(hex(this.signer.publicKey)) ?? -1 }

  /** the committee deciding the next height */
  current (): CommitteeInfo { return this.ledger.committeeAt(this.ledger.height + 1) }

  /**
   * Whether a key (hex) is a validator of the current epoch, of the next one already decided, or
   * of the epoch before (its validators sign the new file, repeat their signature with every
   * heartbeat, and serve the batches they decided).
   */
  isMemberKey (keyHex: string): boolean {
    const cur = this.current()
    if (cur.index.has(keyHex)) return true
    const committees = this.ledger.committees
    if (committees.at(-1)?.index.has(keyHex) === true) return true
    return committees.find((x) => x.epoch === cur.epoch - 1)?.index.has(keyHex) === true
  }
}
