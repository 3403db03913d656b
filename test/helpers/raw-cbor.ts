// A deliberately loose CBOR writer for attack tests and the fuzzer: it writes what a hostile peer
// would, the valid-but-not-canonical encodings (long heads, indefinite lengths, unsorted or
// repeated keys, tags, floats for integers) that souk's decoder must refuse.

export interface RawOptions {
  /** write every integer and length with this many argument bytes (1, 2, 4 or 8) when it fits */
  width?: 1 | 2 | 4 | 8
  /** lists and maps with indefinite length */
  indefinite?: boolean
  /** map keys in insertion order instead of canonical order */
  unsorted?: boolean
  /** byte strings wrapped in this tag (64: a typed Uint8Array) */
  bytesTag?: number
  /** integers written as float64 */
  floats?: boolean
  /** text and byte strings as indefinite-length chunks */
  chunked?: boolean
}

export type Raw = { raw: Uint8Array }

function headBytes (major: number, n: number, width?: number): number[] {
  const m = major << 5
  const w = width ?? (n < 24 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x100000000 ? 4 : 8)
  if (w === 0 && n < 24) return [m | n]
  const out: number[] = []
  if (w <= 1 && n < 0x100) return [m | 24, n]
  if (w <= 2 && n < 0x10000) return [m | 25, n >> 8, n & 0xff]
  if (w <= 4 && n < 0x100000000) { out.push(m | 26); for (let s = 24; s >= 0; s -= 8) out.push((n >>> s) & 0xff); return out }
  out.push(m | 27)
  const hi = Math.floor(n / 0x100000000)
  const lo = n >>> 0
  for (let s = 24; s >= 0; s -= 8) out.push((hi >>> s) & 0xff)
  for (let s = 24; s >= 0; s -= 8) out.push((lo >>> s) & 0xff)
  return out
}

/** encodes `v` the way `o` says; `{ raw }` values are copied as they are */
export function rawCbor (v: unknown, o: RawOptions = {}): Uint8Array {
  const out: number[] = []
  const w = (x: unknown): void => {
    if (x != null && typeof x === 'object' && 'raw' in (x as object) && (x as Raw).raw instanceof Uint8Array) { out.push(...(x as Raw).raw); return }
    if (typeof x === 'number') {
      if (o.floats === true) {
        const b = Buffer.alloc(9); b[0] = 0xfb; b.writeDoubleBE(x, 1); out.push(...b); return
      }
      if (x >= 0) out.push(...headBytes(0, x, o.width)); else out.push(...headBytes(1, -1 - x, o.width))
      return
    }
    if (typeof x === 'boolean') { out.push(x ? 0xf5 : 0xf4); return }
    if (x === null) { out.push(0xf6); return }
    if (x === undefined) { out.push(0xf7); return }
    if (typeof x === 'string') {
      const b = Buffer.from(x, 'utf8')
      if (o.chunked === true) { out.push(0x7f, ...headBytes(3, b.length), ...b, 0xff); return }
      out.push(...headBytes(3, b.length, o.width), ...b); return
    }
    if (x instanceof Uint8Array) {
      if (o.bytesTag != null) out.push(...headBytes(6, o.bytesTag))
      if (o.chunked === true) { out.push(0x5f, ...headBytes(2, x.length), ...x, 0xff); return }
      out.push(...headBytes(2, x.length, o.width), ...x); return
    }
    if (Array.isArray(x)) {
      if (o.indefinite === true) { out.push(0x9f); for (const y of x) w(y); out.push(0xff); return }
      out.push(...headBytes(4, x.length, o.width)); for (const y of x) w(y); return
    }
    if (typeof x === 'object') {
      let entries = Object.entries(x as Record<string, unknown>).filter(([, y]) => y !== undefined)
      if (o.unsorted !== true) entries = entries.sort(([a], [b]) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
      if (o.indefinite === true) out.push(0xbf); else out.push(...headBytes(5, entries.length, o.width))
      for (const [k, y] of entries) { w(k); w(y) }
      if (o.indefinite === true) out.push(0xff)
      return
    }
    throw new TypeError(`rawCbor cannot write ${typeof x}`)
  }
  w(v)
  return new Uint8Array(out)
}

/** a map written with its entries exactly as given: repeated keys, any order */
export function rawMap (entries: Array<[string, unknown]>, o: RawOptions = {}): Raw {
  const parts: number[] = [...headBytes(5, entries.length)]
  for (const [k, v] of entries) parts.push(...rawCbor(k, o), ...rawCbor(v, o))
  return { raw: new Uint8Array(parts) }
}

/** the byte length of the CBOR item at `p` (definite lengths, any head width, tags, floats) */
export function itemLength (b: Uint8Array, p = 0): number {
  const start = p
  const ib = b[p++]
  const major = ib >> 5
  const ai = ib & 0x1f
  let n = ai
  if (ai === 24) n = b[p++]
  else if (ai === 25) { n = (b[p] << 8) | b[p + 1]; p += 2 } else if (ai === 26) { n = new DataView(b.buffer, b.byteOffset).getUint32(p); p += 4 } else if (ai === 27) { n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(p)); p += 8 }
  if (major === 7) return p - start
  if (major === 0 || major === 1) return p - start
  if (major === 2 || major === 3) return p + n - start
  if (major === 6) return p + itemLength(b, p) - start
  if (major === 4) { for (let i = 0; i < n; i++) p += itemLength(b, p); return p - start }
  for (let i = 0; i < 2 * n; i++) p += itemLength(b, p)
  return p - start
}

/** the items of a definite-length CBOR list, each as its raw bytes */
export function rawItems (b: Uint8Array): Raw[] {
  const ib = b[0]
  let p = 1
  let n = ib & 0x1f
  if (n === 24) n = b[p++]
  else if (n === 25) { n = (b[p] << 8) | b[p + 1]; p += 2 }
  const out: Raw[] = []
  for (let i = 0; i < n; i++) {
    const len = itemLength(b, p)
    out.push({ raw: b.subarray(p, p + len) })
    p += len
  }
  return out
}
