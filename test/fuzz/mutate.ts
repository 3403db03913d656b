// Seeded randomness and the mutations the fuzzer applies: byte-level (flips, interesting bytes,
// inserts, deletes, repeats, truncations, splices), CBOR-aware (a value anywhere in the decoded
// tree replaced by an odd one, then written canonically, so the change gets past the codec to the
// schemas, or loosely, so it tests the codec) and text-aware (characters, tokens and lines of YAML,
// JSON and URLs). Every input is a function of (seed, target, index) alone, so any one replays.
import { encodeCbor } from '../../src/wire/index.ts'
import { rawCbor } from '../helpers/raw-cbor.ts'
import type { RawOptions } from '../helpers/raw-cbor.ts'

/** a small fast PRNG (sfc32) */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number
  constructor (...seeds: number[]) {
    // splitmix32 over the seeds gives four well-mixed words
    let h = 0x9e3779b9
    const next = (x: number): number => {
      h = (h + x + 0x9e3779b9) | 0
      let z = h
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    for (const s of seeds) next(s | 0)
    this.a = next(1); this.b = next(2); this.c = next(3); this.d = next(4)
    for (let i = 0; i < 12; i++) this.u32()
  }

  u32 (): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** 0 ≤ n < max */
  int (max: number): number { return max <= 1 ? 0 : this.u32() % max }
  chance (p: number): boolean { return this.u32() / 0x100000000 < p }
  pick<T> (xs: readonly T[]): T { return xs[this.int(xs.length)] }
  bytes (n: number): Uint8Array { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff; return b }
}

// ---- bytes ------------------------------------------------------------------------------------

/** bytes that mean something to a CBOR decoder: heads of every major type and width, breaks, simple values */
const INTERESTING_BYTES = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x38, 0x3b, 0x40, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5f,
  0x60, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7f, 0x80, 0x81, 0x83, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9f, 0xa0, 0xa1, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbf,
  0xc0, 0xc2, 0xd8, 0xd9, 0xdc, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xff, 0x7e, 0xfe, 0xc3, 0xed, 0xef]

export function mutateBytes (rng: Rng, input: Uint8Array, others: readonly Uint8Array[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input)
  const n = 1 + rng.int(rng.chance(0.2) ? 16 : 4)
  for (let k = 0; k < n; k++) {
    const at = rng.int(b.length + 1)
    switch (rng.int(11)) {
      case 0: if (b.length > 0) b[Math.min(at, b.length - 1)] ^= 1 << rng.int(8); break
      case 1: if (b.length > 0) b[Math.min(at, b.length - 1)] = rng.pick(INTERESTING_BYTES); break
      case 2: if (b.length > 0) b[Math.min(at, b.length - 1)] = rng.u32() & 0xff; break
      case 3: b = concat(b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at)); break
      case 4: b = concat(b.subarray(0, at), Uint8Array.of(rng.pick(INTERESTING_BYTES)), b.subarray(at)); break
      case 5: b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(16)))); break
      case 6: { // repeat a chunk
        const len = 1 + rng.int(Math.min(64, Math.max(1, b.length - at)))
        const chunk = b.subarray(at, at + len)
        b = concat(b.subarray(0, at), chunk, chunk, b.subarray(at))
        break
      }
      case 7: b = b.subarray(0, rng.int(b.length + 1)); break
      case 8: { // splice from another input of the same target
        const o = rng.pick(others)
        const from = rng.int(o.length + 1)
        b = concat(b.subarray(0, at), o.subarray(from, from + rng.int(64)), b.subarray(at))
        break
      }
      case 9: { // a multi-byte integer argument set to an edge value
        if (b.length >= 9) {
          const p = Math.min(at, b.length - 9)
          const edge = rng.pick([[0, 0, 0, 0, 0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0, 0x20, 0, 0, 0, 0, 0, 0], [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0], [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]])
          b[p] = rng.pick([0x1b, 0x3b, 0x5b, 0x7b, 0x9b, 0xbb, 0xdb])
          b.set(edge, p + 1)
        }
        break
      }
      default: b = concat(b, rng.bytes(1 + rng.int(4)))
    }
  }
  return b
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

// ---- CBOR values --------------------------------------------------------------------------------

const EDGE_INTS = [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -24, -25, -(2 ** 53 - 1), 1_000_000, 1_000_001, 1024, 1025, 16, 17, 32, 33, 64, 65, 1000]
const EDGE_STRINGS = ['', 'a', 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(129), 'x'.repeat(257), 'x'.repeat(513), 'x'.repeat(5000),
  'ü', '\u0000', '\ufeff', '\ud83d\ude00', '../../etc/passwd', '__proto__', 'constructor', 'souk/order', 'souk/bid', 'souk/committee/vote',
  '1.5', '0', '-1', '1e9', '99999999999999999999999999999999', '0.0000000000000000001', 'uakt', 'nvidia', '*', 'stdout', 'close', 'status',
  'prevote', 'precommit', 'join', 'leave', 'proposal', 'vote', 'finalize', 'msg', 'fin', 'fsig', 'want', 'have', 'sync', 'batches', 'evidence']

/** a random value of a random type, sized to stay small */
export function oddValue (rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 5 : 8)) {
    case 0: return rng.pick(EDGE_INTS) + (rng.chance(0.2) ? rng.int(3) - 1 : 0)
    case 1: return rng.pick(EDGE_STRINGS)
    case 2: return rng.bytes(rng.pick([0, 1, 7, 8, 16, 31, 32, 33, 63, 64, 65, 100]))
    case 3: return rng.pick([true, false, null])
    case 4: return rng.u32()
    case 5: return Array.from({ length: rng.int(5) }, () => oddValue(rng, depth + 1))
    case 6: {
      const o: Record<string, unknown> = {}
      for (let i = rng.int(5); i > 0; i--) setKey(o, rng.pick(EDGE_STRINGS).slice(0, 20), oddValue(rng, depth + 1))
      return o
    }
    default: {
      // deep nesting
      let v: unknown = 0
      for (let i = rng.int(40); i > 0; i--) v = rng.chance(0.5) ? [v] : { a: v }
      return v
    }
  }
}

/** every (container, key) in a tree, to pick one to change */
function slots (v: unknown, out: Array<{ parent: any, key: string | number }> = [], depth = 0): Array<{ parent: any, key: string | number }> {
  if (depth > 40) return out
  if (Array.isArray(v)) {
    v.forEach((x, i) => { out.push({ parent: v, key: i }); slots(x, out, depth + 1) })
  } else if (v != null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    for (const k of Object.keys(v)) { out.push({ parent: v, key: k }); slots((v as any)[k], out, depth + 1) }
  }
  return out
}

/** sets a key as own data, whatever its name (`__proto__` included) */
export function setKey (o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

export function clone (v: unknown): unknown {
  if (v instanceof Uint8Array) return Uint8Array.from(v)
  if (Array.isArray(v)) return v.map(clone)
  if (v != null && typeof v === 'object') {
    const o: Record<string, unknown> = {}
    for (const k of Object.keys(v)) setKey(o, k, clone((v as any)[k]))
    return o
  }
  return v
}

/** nodes in a tree, counted up to `cap` (inputs stay small enough to make in microseconds) */
function size (v: unknown, cap = 20_000): number {
  let n = 0
  const walk = (x: unknown, depth: number): void => {
    if (n > cap || depth > 64) return
    n++
    if (Array.isArray(x)) for (const y of x) walk(y, depth + 1)
    else if (x != null && typeof x === 'object' && !(x instanceof Uint8Array)) for (const k of Object.keys(x)) walk((x as any)[k], depth + 1)
  }
  walk(v, 0)
  return n
}

function set (parent: any, key: string | number, v: unknown): void {
  if (Array.isArray(parent)) parent[key as number] = v
  else setKey(parent, key as string, v)
}

/** changes one to three places in a decoded tree (in place; pass a clone) */
export function mutateTree (rng: Rng, tree: unknown): unknown {
  const n = 1 + rng.int(3)
  for (let k = 0; k < n; k++) {
    const all = slots(tree)
    if (all.length === 0) return oddValue(rng)
    const { parent, key } = rng.pick(all)
    const cur = parent[key]
    switch (rng.int(7)) {
      case 0: set(parent, key, oddValue(rng)); break
      case 1: // remove
        if (Array.isArray(parent)) parent.splice(key as number, 1)
        else delete parent[key]
        break
      case 2: // an extra field or item
        if (Array.isArray(parent)) parent.push(clone(cur))
        else setKey(parent, rng.pick(EDGE_STRINGS).slice(0, 16) || 'extra', oddValue(rng))
        break
      case 3: // grow a list or string a lot
        if (Array.isArray(cur)) {
          const len = rng.pick([17, 33, 65, 257, 1001, 2000])
          const item = size(cur[0]) * len <= 20_000 ? cur[0] ?? 0 : 0
          set(parent, key, Array.from({ length: len }, () => clone(item)))
        }
        else if (typeof cur === 'string') { const f = rng.pick([2, 10, 100]); set(parent, key, cur.length * f <= 100_000 ? cur.repeat(f) : cur) }
        else if (cur instanceof Uint8Array) set(parent, key, rng.bytes(Math.min(cur.length, 200_000) + rng.pick([1, 32, 1000])))
        else set(parent, key, oddValue(rng))
        break
      case 4: // a number nudged to its edges
        set(parent, key, typeof cur === 'number' ? rng.pick([cur + 1, cur - 1, 0, -1, cur * 2, 2 ** 53 - 1, Math.floor(cur / 2)]) : rng.pick(EDGE_INTS))
        break
      case 5: // another slot's value
        { const other = rng.pick(all); const v = other.parent[other.key]; set(parent, key, size(v) + size(tree) <= 40_000 ? clone(v) : oddValue(rng)) }
        break
      default: // same type, other content
        if (typeof cur === 'string') set(parent, key, rng.pick(EDGE_STRINGS))
        else if (cur instanceof Uint8Array) { const c = Uint8Array.from(cur); if (c.length > 0) c[rng.int(c.length)] ^= 0xff; set(parent, key, c) } else set(parent, key, oddValue(rng))
    }
  }
  return tree
}

/** writes a tree canonically when it can, else loosely */
export function writeTree (rng: Rng, tree: unknown, loose: boolean): Uint8Array {
  if (loose) {
    const o: RawOptions = {}
    switch (rng.int(6)) {
      case 0: o.width = rng.pick([1, 2, 4, 8] as const); break
      case 1: o.indefinite = true; break
      case 2: o.unsorted = true; break
      case 3: o.bytesTag = rng.pick([64, 2, 24, 28]); break
      case 4: o.floats = true; break
      default: o.chunked = true
    }
    try { return rawCbor(tree, o) } catch { return encodeCbor(null) }
  }
  try { return encodeCbor(tree) } catch { return rawCbor(tree, { unsorted: true }) }
}

// ---- text ---------------------------------------------------------------------------------------

const TOKENS = [':', ': ', '- ', '-', '{', '}', '[', ']', ',', '&a ', '*a', '&anchor ', '*anchor', '<<: *a', '!!binary ', '!!str ', '!!int ', '!!float ',
  '!!map ', '!!seq ', '!custom ', '|', '>', '|-', '>+', '"', "'", '#', '%YAML 1.1\n', '---\n', '...\n', '? ', '\t', '\n', '\r\n', '  ', '\\',
  '~', 'null', 'true', 'no', 'on', '.inf', '-.inf', '.nan', '0x1F', '0o17', '1e309', '1e-309', '9'.repeat(400), '-0', '1_000',
  '100Gi', '1Ei', '99999999999999999999Ti', '0.0000001', '1m', '1000000000m', 'uakt', 'akash', 'web', 'version: "2.0"', '\u0000', '\ufeff', '\u2028',
  '\ud800', 'ü', '😀', '%', '%2', '%zz', '%E0%A4%A', '%00', '/', '//', '?', '&', '=', '#frag', '..', '{"a":', '"\\u0000"', '[[[[[[[[[[', ']]]]]]]]']

export function mutateText (rng: Rng, input: string, others: readonly string[]): string {
  let s = input
  const n = 1 + rng.int(rng.chance(0.2) ? 12 : 4)
  for (let k = 0; k < n; k++) {
    const at = rng.int(s.length + 1)
    switch (rng.int(10)) {
      case 0: s = s.slice(0, at) + rng.pick(TOKENS) + s.slice(at); break
      case 1: s = s.slice(0, at) + s.slice(at + 1 + rng.int(20)); break
      case 2: s = s.slice(0, at) + String.fromCharCode(rng.int(0x80)) + s.slice(at + 1); break
      case 3: { // duplicate, drop or swap lines
        const lines = s.split('\n')
        const i = rng.int(lines.length)
        const j = rng.int(lines.length)
        const op = rng.int(3)
        if (op === 0) lines.splice(i, 0, lines[j])
        else if (op === 1) lines.splice(i, 1)
        else [lines[i], lines[j]] = [lines[j], lines[i]]
        s = lines.join('\n')
        break
      }
      case 4: { // change a line's indentation
        const lines = s.split('\n')
        const i = rng.int(lines.length)
        lines[i] = rng.chance(0.5) ? ' '.repeat(1 + rng.int(6)) + lines[i] : lines[i].replace(/^\s{1,4}/, '')
        s = lines.join('\n')
        break
      }
      case 5: { // a line from another input
        const o = rng.pick(others).split('\n')
        const lines = s.split('\n')
        lines.splice(rng.int(lines.length + 1), 0, rng.pick(o))
        s = lines.join('\n')
        break
      }
      case 6: // a number somewhere replaced
        s = s.replace(/[0-9]+(\.[0-9]+)?/, rng.pick(['0', '-1', '1e309', '99999999999999999999', '0.5', '1.0000000000000000001', '18446744073709551616']))
        break
      case 7: // repeat a chunk (anchors and aliases, nesting)
        { const len = 1 + rng.int(40); const chunk = s.slice(at, at + len); s = s.slice(0, at) + chunk.repeat(2 + rng.int(8)) + s.slice(at) }
        break
      case 8: s = s.slice(0, at); break
      default: s = s.slice(0, at) + rng.pick(TOKENS) + rng.pick(TOKENS) + s.slice(at)
    }
  }
  return s
}
