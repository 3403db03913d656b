import { map, field, uint, bytes } from '../schema.ts'
import { HASH_BYTES } from '../constants.ts'

/**
 * The tenant's signed intent to replace a running lease's manifest. The new manifest follows on
 * the manifest stream with the same sequence, and its sha256 must equal `manifestHash`.
 */
export interface ManifestUpdateBody {
  lease: Uint8Array
  manifestHash: Uint8Array
  /** 1 for the first update, then 2, 3, … */
  sequence: number
}

export function validateManifestUpdate (v: unknown, path: string): ManifestUpdateBody {
  const o = map(v, path, ['lease', 'manifestHash', 'sequence'])
  return {
    lease: bytes(o.lease, field(path, 'lease'), HASH_BYTES),
    manifestHash: bytes(o.manifestHash, field(path, 'manifestHash'), HASH_BYTES),
    sequence: uint(o.sequence, field(path, 'sequence'), 1_000_000, 1)
  }
}
