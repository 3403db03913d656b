import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { createPublicKey, verify as nodeVerify } from 'node:crypto'
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { verify, verifyOpenSSL, verifyNoble, hasSmallOrderR, fastVerifier, sodium, isAcceptablePublicKey, isKnownPublicKey, keyRuleNoble, keyRuleSodium, keypairFromSeed, signNoble, generateKeypair } from '../../src/identity/index.ts'
import { smallOrderList } from '../../src/identity/ed25519.ts'

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))
const rfc = JSON.parse(readFileSync(new URL('../fixtures/ed25519/rfc8032.json', import.meta.url), 'utf8')) as Array<Record<string, string>>
const speccheck = JSON.parse(readFileSync(new URL('../fixtures/ed25519/speccheck-cases.json', import.meta.url), 'utf8')) as Array<Record<string, string>>
const L = 2n ** 252n + 27742317777372353535851937790883648493n

function leToBig (b: Uint8Array): bigint { let n = 0n; for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]); return n }
function nodeVerifyRaw (sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  try { return nodeVerify(null, msg, createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pk]), format: 'der', type: 'spki' }), sig) } catch { return false }
}
function bigToLe (n: bigint, len: number): Uint8Array { const out = new Uint8Array(len); for (let i = 0; i < len; i++) { out[i] = Number(n & 0xffn); n >>= 8n } return out }

for (const v of rfc) {
  test(`${v.name}: key, signature and both verifiers`, () => {
    const kp = keypairFromSeed(hex(v.seed))
    assert.is(Buffer.from(kp.publicKey).toString('hex'), v.publicKey)
    const sig = kp.sign(hex(v.message))
    assert.is(Buffer.from(sig).toString('hex'), v.signature)
    assert.is(Buffer.from(signNoble(hex(v.seed), hex(v.message))).toString('hex'), v.signature)
    assert.ok(verify(hex(v.signature), hex(v.message), hex(v.publicKey)))
    assert.ok(verifyOpenSSL(hex(v.signature), hex(v.message), hex(v.publicKey)))
    assert.ok(verifyNoble(hex(v.signature), hex(v.message), hex(v.publicKey)))
  })
}

test('speccheck edge cases: the libraries disagree out of the box', () => {
  // the reason for the key rule: noble's default (ZIP215) accepts cases that OpenSSL rejects
  let disagreements = 0
  for (const c of speccheck) {
    const zip = ed.verify(hex(c.signature), hex(c.message), hex(c.pub_key))
    const strict = nodeVerifyRaw(hex(c.signature), hex(c.message), hex(c.pub_key))
    if (zip !== strict) disagreements++
  }
  assert.ok(disagreements >= 6, `expected the raw libraries to disagree on at least 6 cases, saw ${disagreements}`)
})

speccheck.forEach((c, i) => {
  test(`speccheck case ${i}: libsodium, OpenSSL and noble give the same verdict under the rules`, () => {
    const a = verify(hex(c.signature), hex(c.message), hex(c.pub_key))
    const b = verifyNoble(hex(c.signature), hex(c.message), hex(c.pub_key))
    const o = verifyOpenSSL(hex(c.signature), hex(c.message), hex(c.pub_key))
    assert.is(a, b)
    assert.is(a, o)
    // every case uses a small-order or mixed-order key, or a bad signature: all must be refused
    assert.is(a, false)
  })
})

test('small-order and mixed-order public keys fail the key rule; honest keys pass', () => {
  const bad = new Set(speccheck.map((c) => c.pub_key))
  let refused = 0
  for (const k of bad) if (!isAcceptablePublicKey(hex(k))) refused++
  assert.ok(refused >= 3, 'the speccheck small/mixed-order keys are refused')
  for (let i = 0; i < 20; i++) assert.ok(isAcceptablePublicKey(generateKeypair().publicKey))
  // the identity point (small order) and a wrong length
  const identityPoint = new Uint8Array(32); identityPoint[0] = 1
  assert.not.ok(isAcceptablePublicKey(identityPoint))
  assert.not.ok(isAcceptablePublicKey(new Uint8Array(31)))
})

test('non-canonical public key encoding (y >= p) is refused by both paths', () => {
  // y = p + 1 encodes the same field element as y = 1 (the identity); non-canonical
  const p = 2n ** 255n - 19n
  const enc = bigToLe(p + 1n, 32)
  assert.not.ok(isAcceptablePublicKey(enc))
  const kp = generateKeypair()
  const sig = kp.sign(new Uint8Array([1]))
  assert.not.ok(verify(sig, new Uint8Array([1]), enc))
  assert.not.ok(verifyOpenSSL(sig, new Uint8Array([1]), enc))
  assert.not.ok(verifyNoble(sig, new Uint8Array([1]), enc))
})

test('non-canonical S (S + L) is refused by both paths', () => {
  const kp = generateKeypair()
  const msg = new TextEncoder().encode('souk')
  const sig = kp.sign(msg)
  const s = leToBig(sig.subarray(32))
  const mauled = new Uint8Array(64)
  mauled.set(sig.subarray(0, 32), 0)
  mauled.set(bigToLe(s + L, 32), 32)
  assert.ok(verify(sig, msg, kp.publicKey))
  assert.not.ok(verify(mauled, msg, kp.publicKey))
  assert.not.ok(verifyOpenSSL(mauled, msg, kp.publicKey))
  assert.not.ok(verifyNoble(mauled, msg, kp.publicKey))
})

test('random honest signatures: both paths agree, and a flipped bit fails both', () => {
  for (let i = 0; i < 50; i++) {
    const kp = generateKeypair()
    const msg = new Uint8Array(Buffer.from(`message ${i}`))
    const sig = kp.sign(msg)
    assert.ok(verify(sig, msg, kp.publicKey))
    assert.ok(verifyOpenSSL(sig, msg, kp.publicKey))
    assert.ok(verifyNoble(sig, msg, kp.publicKey))
    const bad = Uint8Array.from(sig); bad[i % 64] ^= 1
    assert.is(verify(bad, msg, kp.publicKey), false)
    assert.is(verifyOpenSSL(bad, msg, kp.publicKey), false)
    assert.is(verifyNoble(bad, msg, kp.publicKey), false)
    const other = new Uint8Array(Buffer.from(`message ${i}!`))
    assert.is(verify(sig, other, kp.publicKey), false)
  }
})

test('malformed inputs give false, never throw', () => {
  const kp = generateKeypair()
  assert.not.ok(verify(new Uint8Array(10), new Uint8Array(1), kp.publicKey))
  assert.not.ok(verify(new Uint8Array(64), new Uint8Array(1), new Uint8Array(5)))
  assert.not.ok(verifyNoble(new Uint8Array(64), new Uint8Array(1), new Uint8Array(5)))
  assert.not.ok(verify('x' as any, new Uint8Array(1), kp.publicKey))
  assert.not.ok(verify(kp.sign(new Uint8Array(1)), 'x' as any, kp.publicKey))
  assert.not.ok(verifyOpenSSL(new Uint8Array(64), new Uint8Array(1), new Uint8Array(5)))
})

const sodiumOff = (process.env.SOUK_NO_SODIUM ?? '') !== '' && process.env.SOUK_NO_SODIUM !== '0'

test('the hot path runs on libsodium where its addon loads (OpenSSL with SOUK_NO_SODIUM)', () => {
  assert.is(fastVerifier(), sodiumOff ? 'openssl' : 'libsodium')
  assert.is(sodium() != null, !sodiumOff)
})

test('without libsodium the hot path is OpenSSL, with the same answers', () => {
  const script = `
    const m = await import(${JSON.stringify(new URL('../../src/identity/index.ts', import.meta.url).href)})
    const kp = m.generateKeypair(); const msg = new Uint8Array([7]); const sig = kp.sign(msg)
    const id = Uint8Array.from(sig); id.fill(0, 0, 32); id[0] = 1
    console.log(JSON.stringify([m.fastVerifier(), m.verify(sig, msg, kp.publicKey), m.verify(id, msg, kp.publicKey)]))`
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, SOUK_NO_SODIUM: '1' }, encoding: 'utf8' })
  assert.is(r.status, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout.trim()), ['openssl', true, false])
})

test('the small-order R list is libsodium\'s: eight points, sign bit ignored, two non-canonical', () => {
  const list = smallOrderList().map((b) => Buffer.from(b).toString('hex')).sort()
  assert.equal(list, [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'
  ])
  for (const e of list) {
    let p
    try { p = ed.Point.fromBytes(hex(e), false) } catch { continue } // the non-canonical two
    assert.ok(p.isSmallOrder(), e)
    const signed = hex(e); signed[31] |= 0x80
    const sig = new Uint8Array(64); sig.set(signed)
    assert.ok(hasSmallOrderR(sig), 'the sign bit does not matter')
  }
})

test('a key holder\'s signature with R = identity: noble alone accepts it; the R rule refuses it on every path', () => {
  // S = h·a (r = 0) makes R the identity; only the key's owner can make one, honest signing never does
  const seed = new Uint8Array(32).fill(9)
  const kp = keypairFromSeed(seed)
  const { scalar } = ed.utils.getExtendedPublicKey(seed)
  const msg = new TextEncoder().encode('r is the identity')
  const R = new Uint8Array(32); R[0] = 1
  const h = leToBig(sha512(new Uint8Array([...R, ...kp.publicKey, ...msg]))) % L
  const sig = new Uint8Array(64); sig.set(R); sig.set(bigToLe((h * scalar) % L, 32), 32)
  // the key passes the key rule, so without the R rule noble and OpenSSL would disagree
  assert.ok(isAcceptablePublicKey(kp.publicKey))
  assert.ok(ed.verify(sig, msg, kp.publicKey, { zip215: false }), 'noble (strict) alone accepts it')
  assert.not.ok(nodeVerifyRaw(sig, msg, kp.publicKey), 'OpenSSL alone refuses it')
  if (!sodiumOff) assert.not.ok(sodium()!.crypto_sign_verify_detached(sig, msg, kp.publicKey), 'libsodium alone refuses it')
  assert.not.ok(verify(sig, msg, kp.publicKey))
  assert.not.ok(verifyOpenSSL(sig, msg, kp.publicKey))
  assert.not.ok(verifyNoble(sig, msg, kp.publicKey))
})

test('libsodium\'s point check and noble\'s give the same key verdict on every kind of key', () => {
  if (sodiumOff) return
  const p = 2n ** 255n - 19n
  const keys: Uint8Array[] = []
  for (const c of speccheck) keys.push(hex(c.pub_key))
  for (const e of smallOrderList()) { keys.push(e); const neg = Uint8Array.from(e); neg[31] |= 0x80; keys.push(neg) }
  // y >= p (non-canonical) for small y, with and without the sign bit
  for (let d = 0n; d < 19n; d++) { const k = bigToLe(p + d, 32); keys.push(k); const n = Uint8Array.from(k); n[31] |= 0x80; keys.push(n) }
  // honest keys, the same keys plus each torsion point (mixed order), and random bytes
  const torsion = smallOrderList().flatMap((e) => { try { return [ed.Point.fromBytes(e, false)] } catch { return [] } })
  for (let i = 0; i < 40; i++) {
    const kp = generateKeypair()
    keys.push(kp.publicKey)
    const P = ed.Point.fromBytes(kp.publicKey, false)
    keys.push(P.add(torsion[i % torsion.length]).toBytes())
  }
  let seed = 7
  for (let i = 0; i < 400; i++) keys.push(new Uint8Array(32).map(() => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 0xff }))
  let accepted = 0
  for (const k of keys) {
    const a = keyRuleSodium(k)
    assert.is(a, keyRuleNoble(k), Buffer.from(k).toString('hex'))
    if (a) accepted++
  }
  assert.ok(accepted >= 40 && accepted < keys.length / 2, `${accepted} of ${keys.length} keys pass`)
})

test('a key\'s verdict is cached once checked, whatever it was', () => {
  const kp = generateKeypair()
  assert.not.ok(isKnownPublicKey(kp.publicKey))
  assert.ok(isAcceptablePublicKey(kp.publicKey))
  assert.ok(isKnownPublicKey(kp.publicKey))
  const bad = new Uint8Array(32); bad[0] = 1
  isAcceptablePublicKey(bad)
  assert.ok(isKnownPublicKey(bad))
})

test.run()
