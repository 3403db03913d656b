// Unsigned frames between committee nodes. Signed envelopes travel inside `msg` and `have`;
// finalize and committee-file signatures carry their own signature; the rest are requests whose
// answers are checked on arrival, so nothing in a frame needs to be trusted.
import { encodeCbor, decodeCbor } from '../wire/codec.ts'
import { map, field, uint, bytes, arr, str } from '../wire/schema.ts'
import { WireError } from '../wire/errors.ts'
import { HASH_BYTES, MAX_ENVELOPE_BYTES } from '../wire/constants.ts'
import { FRAME_TAG, FRAME_VERSION, MAX_FRAME_BYTES, MAX_HAVE, MAX_VALIDATORS, MAX_WANT, SYNC_BATCHES } from './constants.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'
import type { CommitteeSignature } from '../wire/messages/lease-certificate.ts'
import { errorMessage } from '../util/index.ts'

export interface FinalizeSig { epoch: number, height: number, header: Uint8Array, validator: Uint8Array, sig: Uint8Array }
export interface FileSig { epoch: number, file: Uint8Array, validator: Uint8Array, sig: Uint8Array }
export interface Status { height: number, round: number, certified: number }
export interface SyncBatch { proposal: Uint8Array, commit: Uint8Array[], signatures?: Uint8Array }
export interface EvidenceFrame { kind: 'proposal' | 'vote' | 'finalize', a: Uint8Array, b: Uint8Array }

export type Frame =
  | { kind: 'msg', body: Uint8Array }
  | { kind: 'fin', body: FinalizeSig }
  | { kind: 'fsig', body: FileSig }
  | { kind: 'status', body: Status }
  | { kind: 'want', body: { ids: Uint8Array[] } }
  | { kind: 'have', body: { msgs: Uint8Array[] } }
  | { kind: 'sync', body: { from: number } }
  | { kind: 'batches', body: { batches: SyncBatch[] } }
  | { kind: 'evidence', body: EvidenceFrame }

export function encodeFrame (f: Frame): Uint8Array {
  return encodeCbor([FRAME_TAG, FRAME_VERSION, f.kind, f.body])
}

const env = (x: unknown, p: string): Uint8Array => bytes(x, p, { min: 1, max: MAX_ENVELOPE_BYTES })

export function validateFinalize (v: unknown, path: string): FinalizeSig {
  const o = map(v, path, ['epoch', 'height', 'header', 'validator', 'sig'])
  return {
    epoch: uint(o.epoch, field(path, 'epoch')),
    height: uint(o.height, field(path, 'height'), Number.MAX_SAFE_INTEGER, 1),
    header: bytes(o.header, field(path, 'header'), HASH_BYTES),
    validator: bytes(o.validator, field(path, 'validator'), 32),
    sig: bytes(o.sig, field(path, 'sig'), 64)
  }
}

/** two conflicting signatures (protocols/committee.md §8), as sent and as stored */
export function validateEvidence (v: unknown, p: string): EvidenceFrame {
  const o = map(v, p, ['kind', 'a', 'b'])
  const k = str(o.kind, `${p}.kind`, 16)
  if (k !== 'proposal' && k !== 'vote' && k !== 'finalize') throw new CommitteeError(CommitteeErrorCode.BAD_FRAME, `unknown evidence kind ${k}`)
  return { kind: k, a: env(o.a, `${p}.a`), b: env(o.b, `${p}.b`) }
}

/**
 * A batch's certificate signatures as stored and as carried by `batches`: a CBOR list (at most one
 * per validator) of `{ validator, sig }`, the validator's index in the epoch's file.
 */
export function validateSignatureList (v: unknown, path: string): CommitteeSignature[] {
  const seen = new Set<number>()
  return arr(v, path, MAX_VALIDATORS, (x, q) => {
    const o = map(x, q, ['validator', 'sig'])
    const validator = uint(o.validator, field(q, 'validator'), MAX_VALIDATORS - 1)
    if (seen.has(validator)) throw new CommitteeError(CommitteeErrorCode.BAD_FRAME, `validator ${validator} appears twice`, field(q, 'validator'))
    seen.add(validator)
    return { validator, sig: bytes(o.sig, field(q, 'sig'), 64) }
  })
}

function body (kind: string, v: unknown): Frame {
  const p = kind
  switch (kind) {
    case 'msg': return { kind, body: env(v, p) }
    case 'fin': return { kind, body: validateFinalize(v, p) }
    case 'fsig': {
      const o = map(v, p, ['epoch', 'file', 'validator', 'sig'])
      return { kind, body: { epoch: uint(o.epoch, `${p}.epoch`), file: bytes(o.file, `${p}.file`, HASH_BYTES), validator: bytes(o.validator, `${p}.validator`, 32), sig: bytes(o.sig, `${p}.sig`, 64) } }
    }
    case 'status': {
      const o = map(v, p, ['height', 'round', 'certified'])
      return { kind, body: { height: uint(o.height, `${p}.height`), round: uint(o.round, `${p}.round`), certified: uint(o.certified, `${p}.certified`) } }
    }
    case 'want': {
      const o = map(v, p, ['ids'])
      return { kind, body: { ids: arr(o.ids, `${p}.ids`, MAX_WANT, (x, q) => bytes(x, q, HASH_BYTES)) } }
    }
    case 'have': {
      const o = map(v, p, ['msgs'])
      return { kind, body: { msgs: arr(o.msgs, `${p}.msgs`, MAX_HAVE, env) } }
    }
    case 'sync': {
      const o = map(v, p, ['from'])
      return { kind, body: { from: uint(o.from, `${p}.from`) } }
    }
    case 'batches': {
      const o = map(v, p, ['batches'])
      return {
        kind,
        body: {
          batches: arr(o.batches, `${p}.batches`, SYNC_BATCHES, (x, q) => {
            const b = map(x, q, ['proposal', 'commit'], ['signatures'])
            const out: SyncBatch = { proposal: env(b.proposal, `${q}.proposal`), commit: arr(b.commit, `${q}.commit`, MAX_VALIDATORS, env) }
            if (b.signatures !== undefined) out.signatures = bytes(b.signatures, `${q}.signatures`, { min: 1, max: 64 * 1024 })
            return out
          })
        }
      }
    }
    case 'evidence': return { kind, body: validateEvidence(v, p) }
    default: throw new CommitteeError(CommitteeErrorCode.BAD_FRAME, `unknown frame kind ${kind}`)
  }
}

/**
 * Decodes what a peer sent: a committee frame, or a bare signed envelope (as gossip delivers
 * orders and bids), which comes back as a `msg` frame.
 */
export function decodeFrame (data: Uint8Array): Frame {
  try {
    const v = decodeCbor(data, MAX_FRAME_BYTES, 'frame')
    if (!Array.isArray(v)) throw new CommitteeError(CommitteeErrorCode.BAD_FRAME, 'frame is not a list')
    if (v[0] instanceof Uint8Array) return { kind: 'msg', body: data }
    if (v.length !== 4 || v[0] !== FRAME_TAG) throw new CommitteeError(CommitteeErrorCode.BAD_FRAME, 'not a committee frame')
    if (v[1] !== FRAME_VERSION) throw new CommitteeError(CommitteeErrorCode.BAD_FRAME, `frame version ${String(v[1])} is not supported`)
    return body(str(v[2], 'frame.kind', 16), v[3])
  } catch (err) {
    if (err instanceof CommitteeError) throw err
    if (err instanceof WireError) throw new CommitteeError(CommitteeErrorCode.BAD_FRAME, err.message)
    throw new CommitteeError(CommitteeErrorCode.BAD_FRAME, `undecodable frame (${errorMessage(err).slice(0, 120)})`)
  }
}
