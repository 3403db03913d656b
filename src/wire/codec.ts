// souk's CBOR: one encoding per value (protocols/wire.md §1), so one message has one ID. The
// encoder always writes it; the decoder accepts nothing else: definite lengths, every integer and
// length in its shortest head, map keys text, sorted (length first, then bytewise) and unique,
// strings valid UTF-8, no tags, no floats, no `undefined`, no simple values but false, true and
// null, nesting at most MAX_CBOR_DEPTH deep. Anything else is a WireError (MALFORMED for broken
// bytes, NON_CANONICAL for a valid CBOR item written another way), never another exception.
//
// Both sides are written here rather than configured in a general library: a general decoder
// takes every encoding it can read (indefinite lengths, long heads, duplicate keys, records,
// shared references, typed-array and date tags), and each of those is another ID for one message.
import { WireError, WireErrorCode } from './errors.ts'
import { MAX_CBOR_DEPTH } from './constants.ts'
import { errorMessage } from '../util/index.ts'

// ---------------------------------------------------------------------------------------------
// encoding

let out = new Uint8Array(16 * 1024)
let pos = 0
const utf8 = new TextEncoder()

function reserve (n: number): void {
  if (pos + n <= out.length) return
  let size = out.length * 2
  while (size < pos + n) size *= 2
  const bigger = new Uint8Array(size)
  bigger.set(out.subarray(0, pos))
  out = bigger
}

/** a head: major type in the top three bits, the argument in its shortest form */
function head (major: number, n: number): void {
  reserve(9)
  const m = major << 5
  if (n < 24) {
    out[pos++] = m | n
  } else if (n < 0x100) {
    out[pos++] = m | 24; out[pos++] = n
  } else if (n < 0x10000) {
    out[pos++] = m | 25; out[pos++] = n >>> 8; out[pos++] = n & 0xff
  } else if (n < 0x100000000) {
    out[pos++] = m | 26
    out[pos++] = n >>> 24; out[pos++] = (n >>> 16) & 0xff; out[pos++] = (n >>> 8) & 0xff; out[pos++] = n & 0xff
  } else {
    const hi = Math.floor(n / 0x100000000)
    const lo = n >>> 0
    out[pos++] = m | 27
    out[pos++] = hi >>> 24; out[pos++] = (hi >>> 16) & 0xff; out[pos++] = (hi >>> 8) & 0xff; out[pos++] = hi & 0xff
    out[pos++] = lo >>> 24; out[pos++] = (lo >>> 16) & 0xff; out[pos++] = (lo >>> 8) & 0xff; out[pos++] = lo & 0xff
  }
}

function isAscii (s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

function writeText (s: string): void {
  if (s.length < 64 && isAscii(s)) {
    head(3, s.length)
    reserve(s.length)
    for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i)
    return
  }
  const n = Buffer.byteLength(s, 'utf8')
  head(3, n)
  reserve(n)
  // a lone surrogate becomes U+FFFD (3 bytes, as byteLength counted it): still valid UTF-8
  utf8.encodeInto(s, out.subarray(pos, pos + n))
  pos += n
}

function encodedKey (k: string): Buffer {
  const b = Buffer.from(k, 'utf8')
  const h = b.length < 24 ? [0x60 | b.length] : b.length < 0x100 ? [0x78, b.length] : [0x79, b.length >>> 8, b.length & 0xff]
  return Buffer.concat([Buffer.from(h), b])
}

/** canonical order of two ASCII keys: shorter first, then bytewise */
function asciiBefore (a: string, b: string): boolean {
  return a.length < b.length || (a.length === b.length && a < b)
}

/** keys in canonical order: by the bytes of their encoding, which puts shorter keys first */
function sortedKeys (o: Record<string, unknown>): string[] {
  const keys: string[] = []
  let ascii = true
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue
    if (o[k] === undefined) continue // as JSON does: an absent field and an undefined one are one value
    keys.push(k)
    if (ascii && !isAscii(k)) ascii = false
  }
  if (ascii) {
    // maps here have a few keys: an insertion sort beats a sort with a comparator
    for (let i = 1; i < keys.length; i++) {
      const k = keys[i]
      let j = i - 1
      while (j >= 0 && asciiBefore(k, keys[j])) { keys[j + 1] = keys[j]; j-- }
      keys[j + 1] = k
    }
    return keys
  }
  const enc = new Map(keys.map((k) => [k, encodedKey(k)]))
  return keys.sort((a, b) => Buffer.compare(enc.get(a)!, enc.get(b)!))
}

function encodeValue (v: unknown, depth: number): void {
  if (depth > MAX_CBOR_DEPTH) throw new TypeError(`cannot encode a value nested more than ${MAX_CBOR_DEPTH} deep`)
  switch (typeof v) {
    case 'number':
      if (!Number.isSafeInteger(v)) throw new TypeError(`cannot encode ${v}: souk's CBOR carries safe integers only`)
      if (v >= 0) head(0, v)
      else head(1, -1 - v)
      return
    case 'string':
      writeText(v)
      return
    case 'boolean':
      reserve(1)
      out[pos++] = v ? 0xf5 : 0xf4
      return
    case 'bigint':
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new TypeError(`cannot encode ${v}: outside the safe integer range`)
      encodeValue(Number(v), depth)
      return
    case 'object': {
      if (v === null) { reserve(1); out[pos++] = 0xf6; return }
      if (v instanceof Uint8Array) {
        head(2, v.length)
        reserve(v.length)
        out.set(v, pos)
        pos += v.length
        return
      }
      if (Array.isArray(v)) {
        head(4, v.length)
        for (const x of v) {
          if (x === undefined) { reserve(1); out[pos++] = 0xf6 } else encodeValue(x, depth + 1)
        }
        return
      }
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`cannot encode a ${(v as object).constructor?.name ?? 'object'}: souk's CBOR has maps, lists, bytes, text, integers, booleans and null`)
      const o = v as Record<string, unknown>
      const keys = sortedKeys(o)
      head(5, keys.length)
      for (const k of keys) {
        writeText(k)
        encodeValue(o[k], depth + 1)
      }
      return
    }
    default:
      throw new TypeError(`cannot encode a ${typeof v}`)
  }
}

/** The canonical encoding of `value` (see the top of this file). */
export function encodeCbor (value: unknown): Uint8Array {
  pos = 0
  try {
    encodeValue(value, 0)
    return out.slice(0, pos)
  } finally {
    // a one-off huge value does not keep its buffer for ever
    if (out.length > 4 * 1024 * 1024) out = new Uint8Array(16 * 1024)
  }
}

// ---------------------------------------------------------------------------------------------
// decoding

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

// the intern table for short ASCII strings: direct-mapped, so its size is fixed whatever arrives;
// strings that collide just replace each other
const INTERN_MAX_LENGTH = 24
const INTERN_SLOTS = 2048
const internBytes: Array<Uint8Array | undefined> = new Array(INTERN_SLOTS).fill(undefined)
const internStrings: string[] = new Array(INTERN_SLOTS).fill('')

class Reader {
  readonly b: Uint8Array
  p = 0
  readonly what: string
  constructor (b: Uint8Array, what: string) { this.b = b; this.what = what }

  malformed (why: string): WireError {
    return new WireError(WireErrorCode.MALFORMED, `${this.what} is not valid CBOR: ${why} at byte ${this.p}`)
  }

  nonCanonical (why: string, at = this.p): WireError {
    return new WireError(WireErrorCode.NON_CANONICAL, `${this.what} is not canonical CBOR (protocols/wire.md §1): ${why} at byte ${at}`)
  }

  need (n: number): void {
    if (this.p + n > this.b.length) throw this.malformed(`${n} more byte${n === 1 ? '' : 's'} needed, the input ends`)
  }

  /** the argument of a head whose additional information is `ai`, checked to be in its shortest form */
  arg (ai: number, at: number): number {
    const b = this.b
    if (ai < 24) return ai
    let n: number
    switch (ai) {
      case 24:
        this.need(1); n = b[this.p]; this.p += 1
        if (n < 24) throw this.nonCanonical(`${n} written with a 1-byte argument`, at)
        return n
      case 25:
        this.need(2); n = (b[this.p] << 8) | b[this.p + 1]; this.p += 2
        if (n < 0x100) throw this.nonCanonical(`${n} written with a 2-byte argument`, at)
        return n
      case 26:
        this.need(4); n = ((b[this.p] << 24) >>> 0) + ((b[this.p + 1] << 16) | (b[this.p + 2] << 8) | b[this.p + 3]); this.p += 4
        if (n < 0x10000) throw this.nonCanonical(`${n} written with a 4-byte argument`, at)
        return n
      case 27: {
        this.need(8)
        const hi = ((b[this.p] << 24) >>> 0) + ((b[this.p + 1] << 16) | (b[this.p + 2] << 8) | b[this.p + 3])
        const lo = ((b[this.p + 4] << 24) >>> 0) + ((b[this.p + 5] << 16) | (b[this.p + 6] << 8) | b[this.p + 7])
        this.p += 8
        if (hi === 0) throw this.nonCanonical(`${lo} written with an 8-byte argument`, at)
        if (hi >= 0x200000) throw new WireError(WireErrorCode.MALFORMED, `${this.what}: an integer or length above 2^53 - 1 at byte ${at}`)
        return hi * 0x100000000 + lo
      }
      case 31: throw this.nonCanonical('an indefinite length', at)
      default: throw this.malformed(`reserved additional information ${ai}`)
    }
  }

  text (n: number, at: number): string {
    this.need(n)
    const b = this.b
    const start = this.p
    this.p += n
    if (n <= INTERN_MAX_LENGTH) {
      // short ASCII strings (map keys, names, denoms) repeat from message to message: the same
      // bytes give back the string built last time instead of a new one, char by char
      let h = n
      let i = start
      for (; i < start + n; i++) {
        const c = b[i]
        if (c > 0x7f) break
        h = Math.imul(h ^ c, 0x01000193)
      }
      if (i === start + n) {
        const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1)
        const kb = internBytes[slot]
        if (kb !== undefined && kb.length === n && sameBytes(kb, b, start)) return internStrings[slot]
        let s = ''
        for (let j = start; j < start + n; j++) s += String.fromCharCode(b[j])
        internBytes[slot] = b.slice(start, start + n)
        internStrings[slot] = s
        return s
      }
    } else if (n < 64) {
      let s = ''
      let i = start
      for (; i < start + n; i++) {
        const c = b[i]
        if (c > 0x7f) break
        s += String.fromCharCode(c)
      }
      if (i === start + n) return s
    }
    try {
      return fatalUtf8.decode(b.subarray(start, start + n))
    } catch {
      throw new WireError(WireErrorCode.MALFORMED, `${this.what}: a text string that is not valid UTF-8 at byte ${at}`)
    }
  }

  item (depth: number): unknown {
    if (depth > MAX_CBOR_DEPTH) throw this.malformed(`nesting deeper than ${MAX_CBOR_DEPTH}`)
    this.need(1)
    const at = this.p
    const ib = this.b[this.p++]
    const major = ib >> 5
    const ai = ib & 0x1f
    switch (major) {
      case 0: return this.arg(ai, at)
      case 1: {
        const n = this.arg(ai, at)
        if (n >= Number.MAX_SAFE_INTEGER) throw new WireError(WireErrorCode.MALFORMED, `${this.what}: an integer below -(2^53 - 1) at byte ${at}`)
        return -1 - n
      }
      case 2: {
        const n = this.arg(ai, at)
        this.need(n)
        const v = this.b.subarray(this.p, this.p + n)
        this.p += n
        return v
      }
      case 3: return this.text(this.arg(ai, at), at)
      case 4: {
        const n = this.arg(ai, at)
        // every item takes at least one byte: a count the input cannot hold is refused before allocating
        if (n > this.b.length - this.p) throw this.malformed(`a list of ${n} items in ${this.b.length - this.p} bytes`)
        const list = new Array(n)
        for (let i = 0; i < n; i++) list[i] = this.item(depth + 1)
        return list
      }
      case 5: {
        const n = this.arg(ai, at)
        if (n * 2 > this.b.length - this.p) throw this.malformed(`a map of ${n} entries in ${this.b.length - this.p} bytes`)
        const o: Record<string, unknown> = {}
        let prevStart = -1
        let prevEnd = -1
        for (let i = 0; i < n; i++) {
          const keyStart = this.p
          this.need(1)
          if ((this.b[keyStart] >> 5) !== 3) throw this.nonCanonical('a map key that is not a text string', keyStart)
          const k = this.item(depth + 1) as string
          const keyEnd = this.p
          if (prevStart >= 0) {
            const c = compareRange(this.b, prevStart, prevEnd, keyStart, keyEnd)
            if (c === 0) throw this.nonCanonical(`map key ${JSON.stringify(k.slice(0, 64))} appears twice`, keyStart)
            if (c > 0) throw this.nonCanonical(`map key ${JSON.stringify(k.slice(0, 64))} out of order (keys are sorted by their encoding, shorter first)`, keyStart)
          }
          prevStart = keyStart
          prevEnd = keyEnd
          const value = this.item(depth + 1)
          // a key named __proto__ is data, not the object's prototype
          if (k === '__proto__') Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true })
          else o[k] = value
        }
        return o
      }
      case 6: throw this.nonCanonical(`tag ${ai < 24 ? ai : '(long)'}: souk's CBOR has no tags`, at)
      default:
        switch (ib) {
          case 0xf4: return false
          case 0xf5: return true
          case 0xf6: return null
          case 0xf7: throw this.nonCanonical('undefined (absent fields are left out)', at)
          case 0xf9: case 0xfa: case 0xfb: throw this.nonCanonical('a floating-point number (souk\'s CBOR carries integers)', at)
          case 0xff: throw this.malformed('a break outside an indefinite-length item')
          default: throw this.nonCanonical(`simple value ${ai === 24 ? this.b[this.p] ?? '?' : ai}`, at)
        }
    }
  }
}

/** whether `k` equals the bytes of `b` from `at` on (the caller checked the length) */
function sameBytes (k: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < k.length; i++) if (k[i] !== b[at + i]) return false
  return true
}

function compareRange (b: Uint8Array, a0: number, a1: number, b0: number, b1: number): number {
  const la = a1 - a0
  const lb = b1 - b0
  const n = Math.min(la, lb)
  for (let i = 0; i < n; i++) {
    const d = b[a0 + i] - b[b0 + i]
    if (d !== 0) return d
  }
  return la - lb
}

/**
 * Decodes exactly one canonical CBOR item filling `bytes`. Size is checked before anything is
 * read; schema checks come after, on the value.
 */
export function decodeCbor (bytes: Uint8Array, maxBytes: number, what = 'message'): unknown {
  if (!(bytes instanceof Uint8Array)) throw new WireError(WireErrorCode.MALFORMED, `${what} is not a byte array`)
  if (bytes.length > maxBytes) throw new WireError(WireErrorCode.TOO_LARGE, `${what} is ${bytes.length} bytes; the limit is ${maxBytes}`)
  if (bytes.length === 0) throw new WireError(WireErrorCode.MALFORMED, `${what} is empty`)
  const r = new Reader(bytes, what)
  try {
    const v = r.item(0)
    if (r.p !== bytes.length) throw r.malformed(`${bytes.length - r.p} trailing bytes after the item`)
    return v
  } catch (err) {
    if (err instanceof WireError) throw err
    // nothing above throws anything else; should it ever, the caller still gets a WireError
    throw new WireError(WireErrorCode.MALFORMED, `${what} is not valid CBOR (${errorMessage(err).slice(0, 120)})`)
  }
}
