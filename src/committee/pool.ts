// Verdict cache and item pool. Each envelope's signature is verified once per node: the cache is
// keyed by the envelope's signature and checked byte for byte, so a copy with a different
// payload or signer is verified on its own. The pool holds items waiting for a batch, bounded.
import { openMessage } from '../wire/envelope.ts'
import type { SignedMessage } from '../wire/envelope.ts'
import { WireError, WireErrorCode } from '../wire/errors.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'
import { MAX_MESSAGE_AGE_MS, MessageTag } from '../wire/constants.ts'
import type { BidBody } from '../wire/messages/bid.ts'
import type { Verifier } from './committee-file.ts'
import { BoundName } from './metrics.ts'
import { hex } from './bytes.ts'

export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>()
  private readonly max: number
  constructor (max: number) { this.max = max }
  get size (): number { return this.map.size }
  get (k: K): V | undefined { return this.map.get(k) }
  has (k: K): boolean { return this.map.has(k) }
  set (k: K, v: V): void {
    if (!this.map.has(k) && this.map.size >= this.max) {
      const first = this.map.keys().next()
      if (first.done !== true) this.map.delete(first.value)
    }
    this.map.set(k, v)
  }

  delete (k: K): void { this.map.delete(k) }
}

function envelopeKey (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + Math.max(0, bytes.byteLength - 64), Math.min(64, bytes.byteLength)).toString('latin1')
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a === b || Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

function expectTag (tag: string, expect?: string | readonly string[]): void {
  if (expect != null && (typeof expect === 'string' ? tag !== expect : !expect.includes(tag))) throw new WireError(WireErrorCode.WRONG_TYPE, `unexpected ${tag}`)
}

export interface VerifyStats { verified: number, cached: number, rejected: number, adopted: number, shed: number }

export class Verdicts {
  private readonly byEnvelope: BoundedMap<string, SignedMessage>
  private readonly byId: BoundedMap<string, SignedMessage>
  private readonly verifier: Verifier
  readonly stats: VerifyStats = { verified: 0, cached: 0, rejected: 0, adopted: 0, shed: 0 }

  constructor (verifier: Verifier, capacity = 200_000) {
    this.verifier = verifier
    this.byEnvelope = new BoundedMap(capacity)
    this.byId = new BoundedMap(capacity)
  }

  /** the message these exact bytes were opened as before, after the tag check */
  private cached (k: string, bytes: Uint8Array, expect?: string | readonly string[]): SignedMessage | undefined {
    const hit = this.byEnvelope.get(k)
    if (hit == null || !sameBytes(hit.bytes, bytes)) return undefined
    expectTag(hit.tag, expect)
    this.stats.cached++
    return hit
  }

  private remember (k: string, m: SignedMessage): SignedMessage {
    this.byEnvelope.set(k, m)
    this.byId.set(m.idHex, m)
    return m
  }

  /**
   * Decodes, schema-checks and verifies an envelope, once. Throws WireError, or CommitteeError
   * when `precheck` refuses the decoded message before its signature is checked (the expensive
   * part): a string is a shed (the item can no longer count), an error is thrown as it is (for
   * example a proposal or vote whose signer is not a member).
   */
  open (bytes: Uint8Array, expect?: string | readonly string[], precheck?: (m: SignedMessage) => string | CommitteeError | undefined): SignedMessage {
    // an envelope ends with its 64-byte signature: a cheap key; a hit must also match byte for byte
    const k = envelopeKey(bytes)
    const hit = this.cached(k, bytes, expect)
    if (hit != null) return hit
    let m: SignedMessage
    try {
      m = openMessage(bytes, { trusted: true, expect })
      const pre = precheck?.(m)
      if (typeof pre === 'string') throw new CommitteeError(CommitteeErrorCode.SHED, pre)
      if (pre != null) throw pre
      if (!this.verifier(m.sig, m.payload, m.signer)) throw new WireError(WireErrorCode.BAD_SIGNATURE, `${m.tag} signature does not verify`)
    } catch (err) {
      if (err instanceof CommitteeError && err.code === CommitteeErrorCode.SHED) this.stats.shed++
      else this.stats.rejected++
      throw err
    }
    this.stats.verified++
    return this.remember(k, m)
  }

  /**
   * Takes a message whose signature this node already checked under the same key rule (the
   * gossip validator did), so that it is never checked twice.
   */
  adopt (m: SignedMessage, expect?: string | readonly string[]): SignedMessage {
    expectTag(m.tag, expect)
    const k = envelopeKey(m.bytes)
    const hit = this.cached(k, m.bytes)
    if (hit != null) return hit
    this.stats.adopted++
    return this.remember(k, m)
  }

  /** Opens bytes this node verified before (read back from its own store). */
  trusted (bytes: Uint8Array): SignedMessage {
    const k = envelopeKey(bytes)
    const hit = this.byEnvelope.get(k)
    if (hit != null && sameBytes(hit.bytes, bytes)) return hit
    return this.remember(k, openMessage(bytes, { trusted: true }))
  }

  byMessageId (idHex: string): SignedMessage | undefined { return this.byId.get(idHex) }
}

export interface PoolLimits {
  items: number
  perOrder: number
  perSigner: number
  unknownOrderBids: number
  unknownOrderBidMs: number
}

interface Entry { m: SignedMessage, at: number, signer: string, order?: string }

export interface PoolRefusal { reason: string, bound: BoundName }

/**
 * Items (orders, bids, closes, membership messages) not yet in a final batch, in arrival order,
 * bounded in all, per order and per signer. A bid whose order this node has not seen waits apart
 * (bounded, for a few seconds) so that bids for made-up orders never take room from real ones;
 * when its order arrives it joins the pool. Bids of an order that settled are dropped at once.
 */
export class ItemPool {
  private readonly items = new Map<string, Entry>()
  private readonly unknown = new Map<string, Entry>()
  private readonly perOrder = new Map<string, number>()
  private readonly perSigner = new Map<string, number>()
  /** order → IDs of its bids here (in the pool or waiting) */
  private readonly byOrder = new Map<string, Set<string>>()
  readonly limits: PoolLimits

  constructor (limits: PoolLimits) { this.limits = limits }
  get max (): number { return this.limits.items }
  /** items that may go into a batch */
  get size (): number { return this.items.size }
  /** bids waiting for an order this node has not seen */
  get waiting (): number { return this.unknown.size }
  has (id: string): boolean { return this.items.has(id) || this.unknown.has(id) }
  get (id: string): SignedMessage | undefined { return (this.items.get(id) ?? this.unknown.get(id))?.m }
  /** when this node first held the item (its clock) */
  arrival (id: string): number | undefined { return (this.items.get(id) ?? this.unknown.get(id))?.at }
  /** IDs of the bids held for an order, batchable or waiting */
  bidsOf (order: string): string[] { return [...(this.byOrder.get(order) ?? [])] }

  /**
   * Adds an item. `orderKnown` says whether a bid's order is open (or in the pool); otherwise the
   * bid waits apart. `force` skips the per-order and per-signer shares (an item a proposal names).
   */
  add (m: SignedMessage, opts: { now: number, orderKnown: boolean, force?: boolean }): PoolRefusal | undefined {
    if (this.has(m.idHex)) return undefined
    const signer = hex(m.signer)
    const order = m.tag === MessageTag.BID ? hex((m.body as BidBody).order) : undefined
    const e: Entry = { m, at: opts.now, signer, order }
    if (order != null && !opts.orderKnown && opts.force !== true) {
      if (this.unknown.size >= this.limits.unknownOrderBids) return { reason: 'too many bids wait for orders this node has not seen', bound: BoundName.UNKNOWN_ORDER_FULL }
      this.unknown.set(m.idHex, e)
      this.index(e)
      return undefined
    }
    return this.place(e, opts.force === true)
  }

  private place (e: Entry, force: boolean): PoolRefusal | undefined {
    if (this.items.size >= this.limits.items) return { reason: 'pool full', bound: BoundName.POOL_FULL }
    if (!force) {
      if (e.order != null && (this.perOrder.get(e.order) ?? 0) >= this.limits.perOrder) return { reason: `the order has ${this.limits.perOrder} bids waiting already`, bound: BoundName.POOL_PER_ORDER }
      if ((this.perSigner.get(e.signer) ?? 0) >= this.limits.perSigner) return { reason: `the signer has ${this.limits.perSigner} items waiting already`, bound: BoundName.POOL_PER_SIGNER }
    }
    this.items.set(e.m.idHex, e)
    this.perSigner.set(e.signer, (this.perSigner.get(e.signer) ?? 0) + 1)
    if (e.order != null) this.perOrder.set(e.order, (this.perOrder.get(e.order) ?? 0) + 1)
    this.index(e)
    return undefined
  }

  private index (e: Entry): void {
    if (e.order == null) return
    let s = this.byOrder.get(e.order)
    if (s == null) { s = new Set(); this.byOrder.set(e.order, s) }
    s.add(e.m.idHex)
  }

  /** an order became known: its waiting bids join the pool (within its share); returns how many did not fit */
  orderArrived (order: string): number {
    let refused = 0
    for (const id of this.bidsOf(order)) {
      const e = this.unknown.get(id)
      if (e == null) continue
      this.unknown.delete(id)
      this.unindex(e)
      if (this.place(e, false) != null) refused++
    }
    return refused
  }

  delete (id: string): void {
    const e = this.items.get(id)
    if (e != null) {
      this.items.delete(id)
      const s = (this.perSigner.get(e.signer) ?? 1) - 1
      if (s <= 0) this.perSigner.delete(e.signer); else this.perSigner.set(e.signer, s)
      if (e.order != null) {
        const o = (this.perOrder.get(e.order) ?? 1) - 1
        if (o <= 0) this.perOrder.delete(e.order); else this.perOrder.set(e.order, o)
      }
      this.unindex(e)
      return
    }
    const u = this.unknown.get(id)
    if (u != null) { this.unknown.delete(id); this.unindex(u) }
  }

  private unindex (e: Entry): void {
    if (e.order == null) return
    const s = this.byOrder.get(e.order)
    if (s == null) return
    s.delete(e.m.idHex)
    if (s.size === 0) this.byOrder.delete(e.order)
  }

  /** drops every bid of an order that settled (matched or expired): none of them can count now */
  dropOrder (order: string): number {
    const ids = this.bidsOf(order)
    for (const id of ids) this.delete(id)
    return ids.length
  }

  values (): IterableIterator<SignedMessage> {
    const it = this.items.values()
    return (function * () { for (const e of it) yield e.m })()
  }

  /** drops items too old to be ordered any more, and bids that waited too long for their order */
  prune (now: number): { stale: number, unknownExpired: number } {
    const floor = now - MAX_MESSAGE_AGE_MS
    let stale = 0
    for (const [id, e] of this.items) if (e.m.createdAt < floor) { this.delete(id); stale++ }
    let unknownExpired = 0
    for (const [id, e] of this.unknown) if (e.at + this.limits.unknownOrderBidMs <= now || e.m.createdAt < floor) { this.delete(id); unknownExpired++ }
    return { stale, unknownExpired }
  }
}
