// souk's CBOR: one encoding per value. The encoder writes it; the decoder takes nothing else.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeCbor, decodeCbor, WireError, MAX_CBOR_DEPTH } from '../../src/wire/index.ts'
import { rawCbor, rawMap } from '../helpers/raw-cbor.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'))
function code (bytes: Uint8Array): string {
  try { decodeCbor(bytes, 1 << 20); return 'ok' } catch (err: any) {
    if (!(err instanceof WireError)) throw err
    return err.code
  }
}

test('integers and lengths take their shortest head (RFC 8949 §4.2.1 examples)', () => {
  const cases: Array<[unknown, string]> = [
    [0, '00'], [23, '17'], [24, '1818'], [255, '18ff'], [256, '190100'], [65535, '19ffff'], [65536, '1a00010000'],
    [4294967295, '1affffffff'], [4294967296, '1b0000000100000000'], [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [-1, '20'], [-24, '37'], [-25, '3818'], [-(2 ** 53 - 1), '3b001ffffffffffffe'],
    ['', '60'], ['a', '6161'], ['ü', '62c3bc'], [new Uint8Array([1, 2]), '420102'], [[], '80'], [{}, 'a0'],
    [false, 'f4'], [true, 'f5'], [null, 'f6'], [1_700_000_000_000, '1b0000018bcfe56800']
  ]
  for (const [v, h] of cases) {
    assert.is(hex(encodeCbor(v)), h, String(v))
    assert.equal(decodeCbor(unhex(h), 64), v)
  }
})

test('map keys are written sorted by their encoding: shorter first, then bytewise; undefined fields left out', () => {
  const bytes = encodeCbor({ sequence: 1, t: 'x', lease: 2, v: 3, aa: 4, b: undefined })
  assert.equal(Object.keys(decodeCbor(bytes, 256) as object), ['t', 'v', 'aa', 'lease', 'sequence'])
  assert.is(hex(bytes), hex(rawCbor({ t: 'x', v: 3, aa: 4, lease: 2, sequence: 1 }, { unsorted: true })))
  // non-ASCII keys sort by their UTF-8 bytes
  const k = decodeCbor(encodeCbor({ é: 1, z: 2, zz: 3 }), 64) as object
  assert.equal(Object.keys(k), ['z', 'zz', 'é'])
})

test('a value round-trips to the same bytes', () => {
  const v = { order: new Uint8Array(32).fill(7), prices: [{ denom: 'uakt', amount: '1.5' }], attributes: { region: 'eu', 'ключ': 'значение' }, n: -5, big: 2 ** 40, ok: true, none: null }
  const a = encodeCbor(v)
  const b = encodeCbor(decodeCbor(a, 4096))
  assert.is(hex(a), hex(b))
})

test('every non-canonical form of a valid item is refused as ERR_WIRE_NON_CANONICAL', () => {
  const refused: Record<string, string> = {
    'integer in a longer head': '1817',
    'integer 255 in 2 bytes': '1900ff',
    'integer in 8 bytes that fits 4': '1b00000000ffffffff',
    'negative integer in a longer head': '3800',
    'byte string length in a longer head': '5801ff',
    'text length in a longer head': '780161',
    'list count in a longer head': '9800',
    'map count in a longer head': 'b800',
    'indefinite byte string': '5f4101ff',
    'indefinite text': '7f6161ff',
    'indefinite list': '9f01ff',
    'indefinite map': 'bf616101ff',
    'keys out of order': 'a2616201616101',
    'longer key first': 'a262616101616201',
    'repeated key': 'a2616101616101',
    'integer key': 'a10101',
    'byte string key': 'a1410101',
    'tag 64 (typed array)': 'd84043010203',
    'tag 28 (shared value)': 'd81c01',
    'tag 2 (bignum)': 'c24101',
    'half float': 'f93c00',
    'single float': 'fa3f800000',
    'double float': 'fb3ff0000000000000',
    undefined: 'f7',
    'simple value 16': 'f0',
    'simple value 255': 'f8ff'
  }
  for (const [name, h] of Object.entries(refused)) assert.is(code(unhex(h)), 'ERR_WIRE_NON_CANONICAL', name)
  // and through the loose writer: a map written in insertion order with an out-of-place key
  assert.is(code(rawCbor({ z: 1, a: 2 }, { unsorted: true })), 'ERR_WIRE_NON_CANONICAL')
  assert.is(code(rawMap([['a', 1], ['a', 1]]).raw), 'ERR_WIRE_NON_CANONICAL')
})

test('broken bytes are ERR_WIRE_MALFORMED, and nothing else escapes', () => {
  const malformed: Record<string, string> = {
    truncated: '1a0001',
    'truncated string': '6461',
    'trailing bytes': '0000',
    'invalid UTF-8': '62c328',
    'overlong UTF-8': '62c0af',
    'UTF-8 surrogate': '63eda080',
    'reserved additional info': '1c',
    'a lone break': 'ff',
    'integer above 2^53 - 1': '1b0020000000000000',
    'negative integer below -(2^53 - 1)': '3b001fffffffffffff',
    'list longer than the input': '9a00100000',
    'map longer than the input': 'ba00100000'
  }
  for (const [name, h] of Object.entries(malformed)) assert.is(code(unhex(h)), 'ERR_WIRE_MALFORMED', name)
  assert.is(code(new Uint8Array(0)), 'ERR_WIRE_MALFORMED')
  assert.throws(() => decodeCbor(new Uint8Array(100), 99), (e: any) => e.code === 'ERR_WIRE_TOO_LARGE')
})

test('short strings decode to themselves, whatever was decoded before (the decoder reuses strings it built)', () => {
  // thousands of distinct short ASCII strings share a table of 2,048 entries: many fall on the
  // same entry, and each must still come back as itself, as a map key and as a value
  let x = 7
  const rand = (n: number): number => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return x % n }
  const words: string[] = []
  for (let i = 0; i < 6000; i++) {
    const len = 1 + rand(24)
    let w = ''
    for (let j = 0; j < len; j++) w += String.fromCharCode(0x20 + rand(95))
    words.push(w)
  }
  // same bytes but for the last one, and same length: the cases a shortcut would get wrong
  words.push('region', 'regioo', 'regio', 'uakt', 'uakx', 'a'.repeat(24), 'a'.repeat(23) + 'b', 'a'.repeat(25))
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < words.length; i++) {
      const w = words[(i * 7919 + round) % words.length]
      assert.equal(decodeCbor(encodeCbor({ [w]: w }), 1 << 10), { [w]: w })
    }
  }
})

test('a leading byte-order mark is a character, not a way to write the same string twice', () => {
  const withBom = decodeCbor(unhex('64efbbbf61'), 16)
  assert.is(withBom, '\ufeffa')
  assert.is.not(withBom, decodeCbor(unhex('6161'), 16))
})

test(`nesting is limited to ${MAX_CBOR_DEPTH} lists and maps`, () => {
  const nest = (n: number): Uint8Array => { const b = new Uint8Array(n + 1).fill(0x81); b[n] = 0; return b }
  assert.is(code(nest(MAX_CBOR_DEPTH)), 'ok')
  assert.is(code(nest(MAX_CBOR_DEPTH + 1)), 'ERR_WIRE_MALFORMED')
  assert.is(code(nest(100_000)), 'ERR_WIRE_MALFORMED')
})

test('a map key __proto__ is data, not a prototype', () => {
  const v = decodeCbor(unhex('a1695f5f70726f746f5f5fa0'), 64) as Record<string, unknown>
  assert.is(Object.getPrototypeOf(v), Object.prototype)
  assert.equal(Object.keys(v), ['__proto__'])
})

test('the encoder refuses what has no canonical form', () => {
  for (const v of [1.5, NaN, Infinity, 2 ** 53, new Date(), new Map(), new Set(), new Float32Array(2), () => 1, Symbol('x'), undefined]) {
    assert.throws(() => encodeCbor(v), TypeError, String(v))
  }
  // undefined in a list becomes null, as in JSON
  assert.equal(decodeCbor(encodeCbor([1, undefined]), 16), [1, null])
})

test.run()
