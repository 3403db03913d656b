import { map, field, uint, bytes, arr } from '../schema.ts'
import { HASH_BYTES, MAX_CERT_SIGNATURES, MAX_PROOF_LENGTH, MessageTag } from '../constants.ts'
import { schemaError } from '../errors.ts'

export interface CommitteeSignature {
  /** index of the validator in the epoch's committee file */
  validator: number
  sig: Uint8Array
}

/**
 * Proof that the committee made a lease final: the lease (order + winning bid) is included in a
 * final batch whose header 2f+1 validators of `epoch` signed. Verifiable offline with the
 * committee file. The committee specification defines what the signatures cover.
 */
export interface LeaseCertificateBody {
  order: Uint8Array
  bid: Uint8Array
  tenant: Uint8Array
  provider: Uint8Array
  epoch: number
  height: number
  /** hash of the final batch header */
  batch: Uint8Array
  /** the lease's position among the batch's leases and its Merkle path to the header's lease root */
  index: number
  proof: Uint8Array[]
  signatures: CommitteeSignature[]
}

function signature (v: unknown, path: string): CommitteeSignature {
  const o = map(v, path, ['validator', 'sig'])
  return { validator: uint(o.validator, field(path, 'validator'), MAX_CERT_SIGNATURES - 1), sig: bytes(o.sig, field(path, 'sig'), 64) }
}

export function validateLeaseCertificate (v: unknown, path: string): LeaseCertificateBody {
  const o = map(v, path, ['order', 'bid', 'tenant', 'provider', 'epoch', 'height', 'batch', 'index', 'proof', 'signatures'])
  const signatures = arr(o.signatures, field(path, 'signatures'), MAX_CERT_SIGNATURES, signature, 1)
  const seen = new Set<number>()
  for (const [i, s] of signatures.entries()) {
    if (seen.has(s.validator)) throw schemaError(`${field(path, 'signatures')}[${i}].validator`, 'appears twice')
    seen.add(s.validator)
  }
  return {
    order: bytes(o.order, field(path, 'order'), HASH_BYTES),
    bid: bytes(o.bid, field(path, 'bid'), HASH_BYTES),
    tenant: bytes(o.tenant, field(path, 'tenant'), 32),
    provider: bytes(o.provider, field(path, 'provider'), 32),
    epoch: uint(o.epoch, field(path, 'epoch')),
    height: uint(o.height, field(path, 'height')),
    batch: bytes(o.batch, field(path, 'batch'), HASH_BYTES),
    index: uint(o.index, field(path, 'index'), 1_000_000),
    proof: arr(o.proof, field(path, 'proof'), MAX_PROOF_LENGTH, (x, p) => bytes(x, p, HASH_BYTES)),
    signatures
  }
}

export const LEASE_CERTIFICATE_TAG = MessageTag.LEASE_CERTIFICATE
