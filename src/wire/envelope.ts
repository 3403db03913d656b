// The signed envelope: { payload, signer, sig } where payload is the exact CBOR bytes that were
// signed. Nothing is ever re-encoded before verifying, and a message's ID is sha256(payload).
import { hash, randomBytes } from 'node:crypto'
import { encodeCbor, decodeCbor } from './codec.ts'
import { WireError, WireErrorCode } from './errors.ts'
import { bytes, list, str, uint } from './schema.ts'
import { HASH_BYTES, MAX_ENVELOPE_BYTES, MAX_TAG_LENGTH, NONCE_MAX_BYTES, NONCE_MIN_BYTES, WIRE_VERSION } from './constants.ts'
import { verify as verifyNative, verifyNoble, isAcceptablePublicKey } from '../identity/ed25519.ts'
import type { ReplayWindow } from './replay.ts'
import { errorMessage, hexOf } from '../util/index.ts'

export interface Signer {
  publicKey: Uint8Array
  sign: (message: Uint8Array) => Uint8Array
}

/** What a body validator may check the body against: fields of the payload header. */
export interface MessageHead {
  /** creation time, ms since the Unix epoch, as the signer claims */
  createdAt: number
}

/**
 * Checks a decoded body and returns it typed, or throws a WireError naming the field. `head` lets
 * a body bound its times by the message's own creation time (a bid deadline at most so far ahead).
 */
export type BodyValidator<B> = (value: unknown, path: string, head: MessageHead) => B

const registry = new Map<string, BodyValidator<unknown>>()

/** Message kinds register their tag and body validator; a tag can be registered once. */
export function registerMessageType<B> (tag: string, validate: BodyValidator<B>): void {
  if (tag.length === 0 || tag.length > MAX_TAG_LENGTH) throw new TypeError(`bad tag ${tag}`)
  if (registry.has(tag) && registry.get(tag) !== validate) throw new TypeError(`message tag ${tag} is already registered`)
  registry.set(tag, validate as BodyValidator<unknown>)
}

export function isRegisteredTag (tag: string): boolean {
  return registry.has(tag)
}

export interface SignedMessage<B = unknown> {
  /** sha256 of the payload bytes */
  id: Uint8Array
  idHex: string
  tag: string
  version: number
  /** creation time, ms since the Unix epoch, as the signer claims */
  createdAt: number
  nonce: Uint8Array
  /** ed25519 public key of the signer */
  signer: Uint8Array
  body: B
  payload: Uint8Array
  sig: Uint8Array
  /** the whole envelope as received or sent */
  bytes: Uint8Array
}

export function sha256 (data: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha256', data, 'buffer'))
}

export function toHex (b: Uint8Array): string {
  return hexOf(b)
}

export interface SignOptions {
  createdAt?: number
  nonce?: Uint8Array
}

/** Signs `body` under `tag`. The body is validated first, so nothing malformed is ever signed. */
export function signMessage<B> (signer: Signer, tag: string, body: B, opts: SignOptions = {}): SignedMessage<B> {
  const validate = registry.get(tag)
  if (validate == null) throw new WireError(WireErrorCode.WRONG_TYPE, `unknown message type ${tag}`)
  const createdAt = opts.createdAt ?? Date.now()
  const checked = validate(body, 'body', { createdAt }) as B
  const nonce = opts.nonce ?? new Uint8Array(randomBytes(16))
  const payload = encodeCbor([tag, WIRE_VERSION, createdAt, nonce, checked])
  const sig = signer.sign(payload)
  const bytes = encodeCbor([payload, signer.publicKey, sig])
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new WireError(WireErrorCode.TOO_LARGE, `${tag} envelope is ${bytes.length} bytes; the limit is ${MAX_ENVELOPE_BYTES}`)
  const id = sha256(payload)
  return { id, idHex: toHex(id), tag, version: WIRE_VERSION, createdAt, nonce, signer: signer.publicKey, body: checked, payload, sig, bytes }
}

export interface OpenOptions {
  /** accepted tags; anything else is WRONG_TYPE */
  expect?: string | readonly string[]
  /** which ed25519 path verifies: `native` (OpenSSL, default, fast) or `noble` (portable) */
  verifier?: 'native' | 'noble'
  /** skip the signature (only for bytes this node verified before, e.g. read back from its store) */
  trusted?: boolean
  /** freshness and replay: checked, and recorded only when everything else passed */
  replay?: ReplayWindow
  now?: number
  maxBytes?: number
}

/**
 * Decodes, checks and verifies an envelope. Cheap checks run first (size, shape, tag, schema,
 * freshness); the signature last; the replay window records the ID only after all passed.
 * Every failure is a WireError; nothing else escapes.
 */
export function openMessage<B = unknown> (data: Uint8Array, opts: OpenOptions = {}): SignedMessage<B> {
  try {
    return openUnsafe<B>(data, opts)
  } catch (err) {
    if (err instanceof WireError) throw err
    throw new WireError(WireErrorCode.MALFORMED, `undecodable message (${errorMessage(err).slice(0, 120)})`)
  }
}

function openUnsafe<B> (data: Uint8Array, opts: OpenOptions): SignedMessage<B> {
  const env = list(decodeCbor(data, opts.maxBytes ?? MAX_ENVELOPE_BYTES, 'envelope'), 'envelope', 3, 3)
  const payload = bytes(env[0], 'envelope.payload', { min: 1, max: MAX_ENVELOPE_BYTES })
  const signer = bytes(env[1], 'envelope.signer', 32)
  const sig = bytes(env[2], 'envelope.sig', 64)

  const head = list(decodeCbor(payload, MAX_ENVELOPE_BYTES, 'payload'), 'payload', 5, 5)
  const tag = str(head[0], 'payload.tag', MAX_TAG_LENGTH, 1)
  const expect = opts.expect
  if (expect != null && (typeof expect === 'string' ? expect !== tag : !expect.includes(tag))) {
    throw new WireError(WireErrorCode.WRONG_TYPE, `expected ${typeof expect === 'string' ? expect : expect.join(' or ')}, got ${tag}`)
  }
  const validate = registry.get(tag)
  if (validate == null) throw new WireError(WireErrorCode.WRONG_TYPE, `unknown message type ${tag}`)
  if (head[1] !== WIRE_VERSION) {
    throw new WireError(WireErrorCode.UNSUPPORTED_VERSION, `${tag} version ${String(head[1])} is not supported (this node speaks ${WIRE_VERSION})`)
  }
  const createdAt = uint(head[2], 'payload.createdAt')
  const nonce = bytes(head[3], 'payload.nonce', { min: NONCE_MIN_BYTES, max: NONCE_MAX_BYTES })
  const body = validate(head[4], 'body', { createdAt }) as B

  const id = sha256(payload)
  const idHex = toHex(id)
  const now = opts.now ?? Date.now()
  opts.replay?.check(idHex, createdAt, now)

  if (opts.trusted !== true) {
    if (!isAcceptablePublicKey(signer)) throw new WireError(WireErrorCode.BAD_KEY, 'signer key is not an acceptable ed25519 key (non-canonical, small-order or mixed-order)')
    const ok = opts.verifier === 'noble' ? verifyNoble(sig, payload, signer) : verifyNative(sig, payload, signer)
    if (!ok) throw new WireError(WireErrorCode.BAD_SIGNATURE, `${tag} signature does not verify`)
  }
  opts.replay?.add(idHex, createdAt, now)
  return { id, idHex, tag, version: WIRE_VERSION, createdAt, nonce, signer, body, payload, sig, bytes: data }
}

export { HASH_BYTES }
