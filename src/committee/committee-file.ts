// The committee file: who the validators of an epoch are and how many signatures make a quorum.
// Its payload (exact CBOR bytes) is what validators sign. Genesis is valid with the threshold of
// its own validators' signatures; every later epoch's file with the threshold of the previous
// epoch's validators. A JSON wrapper keeps it readable; the readable fields must equal the payload.
import { encodeCbor, decodeCbor } from '../wire/codec.ts'
import { map, uint, bytes, arr } from '../wire/schema.ts'
import { WireError } from '../wire/errors.ts'
import { isAcceptablePublicKey, verify as verifyNative } from '../identity/ed25519.ts'
import type { Signer } from '../wire/envelope.ts'
import { Domain, MAX_VALIDATORS } from './constants.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'
import { concat, equal, fromHex, hex, sha256, utf8 } from './bytes.ts'
import { errorMessage } from '../util/index.ts'

export type Verifier = (sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean

export interface CommitteeInfo {
  /** hash of the genesis payload; names the chain */
  chain: Uint8Array
  epoch: number
  /** first batch height this committee orders */
  startHeight: number
  /** committee time of height 1, ms since the Unix epoch */
  genesisTime: number
  /** hash of the previous epoch's payload (empty for genesis) */
  previous: Uint8Array
  validators: Uint8Array[]
  threshold: number
  /** faults tolerated: n - threshold */
  f: number
  payload: Uint8Array
  /** sha256(payload) */
  hash: Uint8Array
  /** validator key hex → index */
  index: Map<string, number>
}

export interface FileSignature { validator: Uint8Array, sig: Uint8Array }

export interface CommitteeFile {
  info: CommitteeInfo
  signatures: FileSignature[]
  /**
   * The first height of the next epoch, when the chain this file came in holds the next file
   * (linkCommitteeChain): the epoch's validators certify nothing at or past it, so a certificate
   * of this epoch there is refused even if their keys leaked later.
   */
  until?: number
}

/** the files of a chain from the genesis on, each knowing where its epoch ends (the next file's start height) */
export function linkCommitteeChain (files: readonly CommitteeFile[]): CommitteeFile[] {
  return files.map((f, i) => {
    const next = files[i + 1]
    const out: CommitteeFile = { info: f.info, signatures: f.signatures }
    if (next != null && next.info.epoch === f.info.epoch + 1) out.until = next.info.startHeight
    return out
  })
}

/**
 * Whether `next` continues `held`: the same files from the genesis on (same payloads) and at least
 * one more. A node adopts only such a chain, so a fork signed by a retired epoch's keys (a file
 * that verifies from the genesis but replaces one the node holds) is refused.
 */
export function extendsChain (held: readonly CommitteeFile[], next: readonly CommitteeFile[]): boolean {
  if (next.length <= held.length) return false
  for (let i = 0; i < held.length; i++) if (!equal(held[i].info.hash, next[i].info.hash)) return false
  return true
}

/** quorum for n validators: n - floor((n-1)/3), i.e. 2f+1 when n = 3f+1 */
export function thresholdFor (n: number): number {
  return n - Math.floor((n - 1) / 3)
}

export interface CommitteeFields {
  /** genesis payload hash; omit for a genesis file */
  chain?: Uint8Array
  epoch: number
  startHeight: number
  genesisTime: number
  previous?: Uint8Array
  validators: Uint8Array[]
}

function bad (message: string, path?: string): CommitteeError {
  return new CommitteeError(CommitteeErrorCode.BAD_FILE, message, path)
}

function checkValidators (validators: Uint8Array[], path: string): void {
  if (validators.length < 1 || validators.length > MAX_VALIDATORS) throw bad(`must list 1 to ${MAX_VALIDATORS} validators`, path)
  const seen = new Set<string>()
  validators.forEach((v, i) => {
    const k = hex(v)
    if (seen.has(k)) throw bad('appears twice', `${path}[${i}]`)
    seen.add(k)
    if (!isAcceptablePublicKey(v)) throw bad('is not an acceptable ed25519 public key', `${path}[${i}]`)
  })
}

function infoFrom (payload: Uint8Array, f: Omit<CommitteeInfo, 'chain' | 'payload' | 'hash' | 'index' | 'f'> & { chain: Uint8Array }): CommitteeInfo {
  const h = sha256(payload)
  return {
    ...f,
    chain: f.chain.length === 0 ? h : f.chain,
    f: f.validators.length - f.threshold,
    payload,
    hash: h,
    index: new Map(f.validators.map((v, i) => [hex(v), i]))
  }
}

export function buildCommittee (fields: CommitteeFields): CommitteeInfo {
  checkValidators(fields.validators, 'validators')
  const genesis = fields.chain == null
  if (genesis !== (fields.epoch === 0)) throw bad('epoch 0 (and only epoch 0) is the genesis, which has no chain or previous field', 'epoch')
  if (!genesis && (fields.previous == null || fields.previous.length !== 32)) throw bad('a later epoch must name its previous file', 'previous')
  const threshold = thresholdFor(fields.validators.length)
  const chain = fields.chain ?? new Uint8Array(0)
  const previous = fields.previous ?? new Uint8Array(0)
  const payload = encodeCbor({
    t: Domain.FILE_PAYLOAD,
    v: 1,
    chain,
    epoch: fields.epoch,
    startHeight: fields.startHeight,
    genesisTime: fields.genesisTime,
    previous,
    validators: fields.validators,
    threshold
  })
  return infoFrom(payload, { chain, epoch: fields.epoch, startHeight: fields.startHeight, genesisTime: fields.genesisTime, previous, validators: fields.validators.map((v) => Uint8Array.from(v)), threshold })
}

export function decodeCommitteePayload (payload: Uint8Array): CommitteeInfo {
  try {
    const o = map(decodeCbor(payload, 64 * 1024, 'committee payload'), 'payload', ['t', 'v', 'chain', 'epoch', 'startHeight', 'genesisTime', 'previous', 'validators', 'threshold'])
    if (o.t !== Domain.FILE_PAYLOAD) throw bad(`must be "${Domain.FILE_PAYLOAD}"`, 'payload.t')
    if (o.v !== 1) throw bad('must be 1', 'payload.v')
    const validators = arr(o.validators, 'payload.validators', MAX_VALIDATORS, (x, p) => bytes(x, p, 32), 1).map((v) => Uint8Array.from(v))
    checkValidators(validators, 'payload.validators')
    const threshold = uint(o.threshold, 'payload.threshold')
    if (threshold !== thresholdFor(validators.length)) throw bad(`must be ${thresholdFor(validators.length)} for ${validators.length} validators`, 'payload.threshold')
    const epoch = uint(o.epoch, 'payload.epoch')
    const chain = Uint8Array.from(bytes(o.chain, 'payload.chain', epoch === 0 ? 0 : 32))
    const previous = Uint8Array.from(bytes(o.previous, 'payload.previous', epoch === 0 ? 0 : 32))
    return infoFrom(Uint8Array.from(payload), {
      chain,
      epoch,
      startHeight: uint(o.startHeight, 'payload.startHeight', Number.MAX_SAFE_INTEGER, 1),
      genesisTime: uint(o.genesisTime, 'payload.genesisTime'),
      previous,
      validators,
      threshold
    })
  } catch (err) {
    if (err instanceof CommitteeError) throw err
    if (err instanceof WireError) throw bad(err.message)
    throw bad(`undecodable committee payload (${errorMessage(err)})`)
  }
}

/** bytes a validator signs to endorse a committee file */
export function fileSigningBytes (info: CommitteeInfo): Uint8Array {
  return concat([utf8(Domain.FILE), info.hash])
}

export function signCommitteeFile (info: CommitteeInfo, signer: Signer): FileSignature {
  return { validator: signer.publicKey, sig: signer.sign(fileSigningBytes(info)) }
}

/** A genesis file for the given signers (who sign it now) and public keys (whose owners sign later). */
export function genesisCommitteeFile (signers: Signer[], pubkeys: Uint8Array[] = [], genesisTime = Date.now()): CommitteeFile {
  const info = buildCommittee({ epoch: 0, startHeight: 1, genesisTime, validators: [...signers.map((s) => s.publicKey), ...pubkeys] })
  let file: CommitteeFile = { info, signatures: [] }
  for (const s of signers) file = addFileSignature(file, signCommitteeFile(info, s))
  return file
}

/** adds a signature, keeping one per key, sorted by key */
export function addFileSignature (file: CommitteeFile, s: FileSignature): CommitteeFile {
  const others = file.signatures.filter((x) => !equal(x.validator, s.validator))
  const signatures = [...others, s].sort((a, b) => hex(a.validator) < hex(b.validator) ? -1 : 1)
  return { info: file.info, signatures }
}

/** the signatures on `file` that verify and come from `signers`, counted once per key */
export function countFileSignatures (file: CommitteeFile, signers: CommitteeInfo, verifier: Verifier = verifyNative): number {
  const msg = fileSigningBytes(file.info)
  const seen = new Set<string>()
  for (const s of file.signatures) {
    const k = hex(s.validator)
    if (seen.has(k) || !signers.index.has(k)) continue
    if (verifier(s.sig, msg, s.validator)) seen.add(k)
  }
  return seen.size
}

/**
 * Checks one file: a genesis against its own validators, a later epoch against the previous file.
 * Throws a CommitteeError saying what is wrong.
 */
export function verifyCommitteeFile (file: CommitteeFile, previous?: CommitteeFile, verifier: Verifier = verifyNative): void {
  const info = file.info
  if (info.epoch === 0) {
    const n = countFileSignatures(file, info, verifier)
    if (n < info.threshold) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, `genesis has ${n} valid signatures of its validators; ${info.threshold} are required`)
    return
  }
  if (previous == null) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, `epoch ${info.epoch} needs the epoch ${info.epoch - 1} file to be checked`)
  const prev = previous.info
  if (!equal(info.chain, prev.chain)) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, `epoch ${info.epoch} belongs to another chain`)
  if (info.epoch !== prev.epoch + 1) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, `epoch ${info.epoch} does not follow epoch ${prev.epoch}`)
  if (!equal(info.previous, prev.hash)) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, `epoch ${info.epoch} does not name the given epoch ${prev.epoch} file as its previous`)
  if (info.startHeight <= prev.startHeight) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, `epoch ${info.epoch} starts at height ${info.startHeight}, not after epoch ${prev.epoch} (${prev.startHeight})`)
  if (info.genesisTime !== prev.genesisTime) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, `epoch ${info.epoch} changes the genesis time`)
  const n = countFileSignatures(file, prev, verifier)
  if (n < prev.threshold) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, `epoch ${info.epoch} has ${n} valid signatures of epoch ${prev.epoch}'s validators; ${prev.threshold} are required`)
}

/** Checks a chain of files from genesis on; returns the last. */
export function verifyCommitteeChain (files: readonly CommitteeFile[], verifier: Verifier = verifyNative): CommitteeFile {
  if (files.length === 0) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, 'no committee file given')
  if (files[0].info.epoch !== 0) throw new CommitteeError(CommitteeErrorCode.BAD_CHAIN, `the chain must start at the genesis (epoch 0), not epoch ${files[0].info.epoch}`)
  verifyCommitteeFile(files[0], undefined, verifier)
  for (let i = 1; i < files.length; i++) verifyCommitteeFile(files[i], files[i - 1], verifier)
  return files[files.length - 1]
}

// ---- JSON form ----

export interface CommitteeFileJson {
  format: 'souk-committee/1'
  chain: string
  epoch: number
  startHeight: number
  genesisTime: number
  previous: string | null
  threshold: number
  validators: string[]
  /** base64 of the exact signed payload */
  payload: string
  signatures: Array<{ validator: string, sig: string }>
}

export function committeeFileToJson (file: CommitteeFile): CommitteeFileJson {
  const i = file.info
  return {
    format: 'souk-committee/1',
    chain: hex(i.chain),
    epoch: i.epoch,
    startHeight: i.startHeight,
    genesisTime: i.genesisTime,
    previous: i.previous.length === 0 ? null : hex(i.previous),
    threshold: i.threshold,
    validators: i.validators.map(hex),
    payload: Buffer.from(i.payload).toString('base64'),
    signatures: file.signatures.map((s) => ({ validator: hex(s.validator), sig: hex(s.sig) }))
  }
}

const HEX64 = /^[0-9a-f]{64}$/
const HEX128 = /^[0-9a-f]{128}$/

export function committeeFileFromJson (v: unknown, path = 'committee'): CommitteeFile {
  if (v == null || typeof v !== 'object' || Array.isArray(v)) throw bad('must be a JSON object', path)
  const o = v as Record<string, unknown>
  if (o.format !== 'souk-committee/1') throw bad('must be "souk-committee/1"', `${path}.format`)
  if (typeof o.payload !== 'string') throw bad('is required', `${path}.payload`)
  const info = decodeCommitteePayload(new Uint8Array(Buffer.from(o.payload, 'base64')))
  const view = committeeFileToJson({ info, signatures: [] })
  for (const k of ['chain', 'epoch', 'startHeight', 'genesisTime', 'previous', 'threshold'] as const) {
    if (o[k] !== undefined && o[k] !== view[k]) throw bad(`does not match the signed payload (${JSON.stringify(view[k])})`, `${path}.${k}`)
  }
  if (o.validators !== undefined && JSON.stringify(o.validators) !== JSON.stringify(view.validators)) throw bad('do not match the signed payload', `${path}.validators`)
  const signatures = fileSignatures(o.signatures, `${path}.signatures`)
  return { info, signatures }
}

/**
 * The `signatures` of a committee file on disk or as announced: absent, or a list (at most one
 * per validator of the largest committee, twice over) of `{ validator, sig }` objects with
 * exactly those two fields, a 64-digit hex key and a 128-digit hex signature, each key once.
 */
export function fileSignatures (v: unknown, path: string): FileSignature[] {
  if (v === undefined) return []
  if (!Array.isArray(v)) throw bad('must be a list', path)
  if (v.length > MAX_VALIDATORS * 2) throw bad('too many signatures', path)
  const seen = new Set<string>()
  return v.map((s: unknown, i: number) => {
    const p = `${path}[${i}]`
    if (s == null || typeof s !== 'object' || Array.isArray(s)) throw bad('must be an object', p)
    const o = s as Record<string, unknown>
    for (const k of Object.keys(o)) if (k !== 'validator' && k !== 'sig') throw bad('unknown field', `${p}.${k}`)
    if (typeof o.validator !== 'string' || !HEX64.test(o.validator)) throw bad('must be a 64-digit hex key', `${p}.validator`)
    if (typeof o.sig !== 'string' || !HEX128.test(o.sig)) throw bad('must be a 128-digit hex signature', `${p}.sig`)
    if (seen.has(o.validator)) throw bad('signs twice', `${p}.validator`)
    seen.add(o.validator)
    return { validator: fromHex(o.validator), sig: fromHex(o.sig) }
  })
}

export function parseCommitteeFiles (text: string, what = 'committee file'): CommitteeFile[] {
  let v: unknown
  try { v = JSON.parse(text) } catch { throw bad(`${what} is not valid JSON`) }
  if (Array.isArray(v)) return v.map((x, i) => committeeFileFromJson(x, `[${i}]`))
  return [committeeFileFromJson(v)]
}
