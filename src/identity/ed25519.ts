// One verification rule for every node. @noble/ed25519, OpenSSL (Node's built-in ed25519) and
// libsodium disagree on small-order and mixed-order keys, and noble alone accepts a key holder's
// signature whose R is the identity. Once a key must decode canonically, not be of small order
// and be torsion-free, R must not be a small-order point, and noble runs with zip215: false, all
// three agree on every case (protocols/wire.md §2.1).
// The key check is costly (a scalar multiplication), so it runs once per key and is cached.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { KEY_CACHE_SIZE } from './constants.ts'
import { sodium } from './sodium.ts'
import { hexOf } from '../util/index.ts'

ed.hashes.sha512 = sha512

export const PUBLIC_KEY_LENGTH = 32
export const SEED_LENGTH = 32
export const SIGNATURE_LENGTH = 64

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** Bounded map: the oldest entry goes first once full. */
class BoundedCache<V> {
  private readonly map = new Map<string, V>()
  private readonly max: number
  constructor (max: number) { this.max = max }
  get (k: string): V | undefined { return this.map.get(k) }
  set (k: string, v: V): void {
    if (this.map.size >= this.max) {
      const first = this.map.keys().next()
      if (first.done !== true) this.map.delete(first.value)
    }
    this.map.set(k, v)
  }
}

// key hex → the rule's verdict; and, for keys that passed, their OpenSSL key object (made only
// when the OpenSSL path needs it)
const verdicts = new BoundedCache<boolean>(KEY_CACHE_SIZE)
const keyObjects = new BoundedCache<KeyObject>(KEY_CACHE_SIZE)


/**
 * The key rule: canonical encoding, not small order, torsion-free (prime-order subgroup).
 * Honestly generated keys always pass. The verdict is cached per key.
 */
export function isAcceptablePublicKey (publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return false
  const k = hexOf(publicKey)
  const cached = verdicts.get(k)
  if (cached !== undefined) return cached
  const ok = keyRule(publicKey)
  verdicts.set(k, ok)
  return ok
}

/** whether this key's verdict is cached (checking a known key costs a lookup, a new one the rule) */
export function isKnownPublicKey (publicKey: Uint8Array): boolean {
  return publicKey instanceof Uint8Array && publicKey.length === PUBLIC_KEY_LENGTH && verdicts.get(hexOf(publicKey)) !== undefined
}

/**
 * The rule, uncached: libsodium's point check where the addon loads (about as costly as one
 * signature check), noble's otherwise (about twenty). Both give the same verdict on every key
 * (test/identity/ed25519.test.ts compares them).
 */
export function keyRule (publicKey: Uint8Array): boolean {
  const s = sodium()
  return s != null ? keyRuleSodium(publicKey) : keyRuleNoble(publicKey)
}

/** libsodium's crypto_core_ed25519_is_valid_point: canonical, on the curve, not small order, in the main subgroup */
export function keyRuleSodium (publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return false
  const s = sodium()
  if (s == null) throw new Error('libsodium is not loaded')
  try {
    return s.crypto_core_ed25519_is_valid_point(publicKey)
  } catch {
    return false
  }
}

/** the same rule with @noble/ed25519 (a scalar multiplication for the subgroup check) */
export function keyRuleNoble (publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return false
  try {
    const point = ed.Point.fromBytes(publicKey, false)
    // fromBytes accepts some non-canonical encodings (x = 0 with the sign bit set); re-encoding catches them
    const again = point.toBytes()
    for (let i = 0; i < PUBLIC_KEY_LENGTH; i++) if (again[i] !== publicKey[i]) return false
    if (point.isSmallOrder()) return false
    return point.isTorsionFree()
  } catch {
    return false
  }
}

function keyObjectFor (publicKey: Uint8Array): KeyObject | null {
  if (!isAcceptablePublicKey(publicKey)) return null
  const k = hexOf(publicKey)
  let ko = keyObjects.get(k)
  if (ko == null) {
    ko = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
    keyObjects.set(k, ko)
  }
  return ko
}

// Encodings of the eight small-order points, the sign bit ignored, and the two non-canonical
// ones (y = p, p + 1): the list libsodium checks R against. Derived rather than typed in.
let smallOrder: Uint8Array[] | undefined

/** the encodings R is checked against (exported for tests) */
export function smallOrderList (): readonly Uint8Array[] { return smallOrderEncodings() }

function smallOrderEncodings (): Uint8Array[] {
  if (smallOrder != null) return smallOrder
  const L = ed.Point.CURVE().n
  const p = ed.Point.CURVE().p
  // [L]P of a point with an order-8 component generates the torsion subgroup
  let t: InstanceType<typeof ed.Point> | undefined
  for (let y = 2n; t == null; y++) {
    let P
    try { P = ed.Point.fromBytes(leBytes(y), false) } catch { continue }
    const q = P.multiply(L - 1n).add(P)
    if (!q.double().double().is0()) t = q
  }
  const seen = new Set<string>()
  const out: Uint8Array[] = []
  const keep = (b: Uint8Array): void => {
    const m = Uint8Array.from(b); m[31] &= 0x7f
    const k = hexOf(m)
    if (!seen.has(k)) { seen.add(k); out.push(m) }
  }
  let q = ed.Point.ZERO
  for (let k = 0; k < 8; k++, q = q.add(t)) {
    const enc = q.toBytes()
    keep(enc)
    const y = leBig(enc) & ((1n << 255n) - 1n)
    if (y + p < 1n << 255n) keep(leBytes(y + p))
  }
  smallOrder = out
  return out
}

function leBytes (n: bigint): Uint8Array {
  const b = new Uint8Array(32)
  for (let i = 0; i < 32; i++) { b[i] = Number(n & 0xffn); n >>= 8n }
  return b
}

function leBig (b: Uint8Array): bigint {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i])
  return n
}

/** whether a signature's R (its first 32 bytes) encodes a point of small order */
export function hasSmallOrderR (signature: Uint8Array): boolean {
  for (const e of smallOrderEncodings()) {
    let d = (signature[31] & 0x7f) ^ e[31]
    for (let i = 0; i < 31 && d === 0; i++) d |= signature[i] ^ e[i]
    if (d === 0) return true
  }
  return false
}

/** The library behind `verify`: libsodium where its addon loads, OpenSSL otherwise. */
export function fastVerifier (): 'libsodium' | 'openssl' {
  return sodium() != null ? 'libsodium' : 'openssl'
}

/**
 * The rules every path applies before its library's equation: a 64-byte signature, the key rule
 * (cached) and the R rule. Returns the key's OpenSSL object when they pass, null otherwise.
 */
function admissible (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): KeyObject | null {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH || !(message instanceof Uint8Array)) return null
  const ko = keyObjectFor(publicKey)
  return ko == null || hasSmallOrderR(signature) ? null : ko
}

/** the rules without the OpenSSL key object (for libsodium and noble) */
function admissibleBytes (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH || !(message instanceof Uint8Array)) return false
  return isAcceptablePublicKey(publicKey) && !hasSmallOrderR(signature)
}

/** Hot path: the rules, then libsodium (or OpenSSL without it). */
export function verify (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const s = sodium()
  if (s == null) return verifyOpenSSL(signature, message, publicKey)
  if (!admissibleBytes(signature, message, publicKey)) return false
  try {
    return s.crypto_sign_verify_detached(signature, message, publicKey)
  } catch {
    return false
  }
}

/** The same rules, then OpenSSL (Node's built-in ed25519). */
export function verifyOpenSSL (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const ko = admissible(signature, message, publicKey)
  if (ko == null) return false
  try {
    return nodeVerify(null, message, ko, signature)
  } catch {
    return false
  }
}

/** Portable path: the same rules, then noble in strict RFC 8032 mode. */
export function verifyNoble (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!admissibleBytes(signature, message, publicKey)) return false
  try {
    return ed.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

export interface Ed25519Keypair {
  seed: Uint8Array
  publicKey: Uint8Array
  sign: (message: Uint8Array) => Uint8Array
}

export function keypairFromSeed (seed: Uint8Array): Ed25519Keypair {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) throw new TypeError(`ed25519 seed must be ${SEED_LENGTH} bytes`)
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length))
  const seedCopy = Uint8Array.from(seed)
  return {
    seed: seedCopy,
    publicKey,
    sign: (message) => new Uint8Array(nodeSign(null, message, priv))
  }
}

export function generateKeypair (): Ed25519Keypair {
  return keypairFromSeed(new Uint8Array(randomBytes(SEED_LENGTH)))
}

/** noble's signer, for cross-checks: RFC 8032 signatures are deterministic. */
export function signNoble (seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed.sign(message, seed)
}
