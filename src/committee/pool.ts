// Verdict cache and item pool. Each envelope's signature is verified once per node: the cache is
// keyed by the envelope's signature and checked byte for byte, so a copy with a different
// payload or signer is verified on its own. The pool holds items waiting for a batch.
import { openMessage } from '../wire/envelope.ts'
import type { SignedMessage } from '../wire/envelope.ts'
import { WireError, WireErrorCode } from '../wire/errors.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'
import { MAX_MESSAGE_AGE_MS } from '../wire/constants.ts'
import type { Verifier } from './committee-file.ts'

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
   * Decodes, schema-checks and verifies an envelope, once. Throws WireError, or CommitteeError SHED when
   * `precheck` refuses the decoded message before its signature is checked (the expensive part).
   */
  open (bytes: Uint8Array, expect?: string | readonly string[], precheck?: (m: SignedMessage) => string | undefined): SignedMessage {
    // an envelope ends with its 64-byte signature: a cheap key; a hit must also match byte for byte
    const k = envelopeKey(bytes)
    const hit = this.cached(k, bytes, expect)
    if (hit != null) return hit
    let m: SignedMessage
    try {
      m = openMessage(bytes, { trusted: true, expect })
      const shed = precheck?.(m)
      if (shed != null) throw new CommitteeError(CommitteeErrorCode.SHED, shed)
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

/** Items (orders, bids, closes, membership messages) not yet in a final batch, in arrival order. */
export class ItemPool {
  private readonly items = new Map<string, SignedMessage>()
  readonly max: number
  constructor (max: number) { this.max = max }
  get size (): number { return this.items.size }
  has (id: string): boolean { return this.items.has(id) }
  get (id: string): SignedMessage | undefined { return this.items.get(id) }
  add (m: SignedMessage): boolean {
    if (this.items.has(m.idHex) || this.items.size >= this.max) return false
    this.items.set(m.idHex, m)
    return true
  }

  delete (id: string): void { this.items.delete(id) }
  values (): IterableIterator<SignedMessage> { return this.items.values() }
  /** drops items too old to be ordered any more */
  prune (now: number): void {
    const floor = now - MAX_MESSAGE_AGE_MS
    for (const [id, m] of this.items) if (m.createdAt < floor) this.items.delete(id)
  }
}
