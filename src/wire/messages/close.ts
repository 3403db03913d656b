import { map, field, str, bytes } from '../schema.ts'
import { HASH_BYTES, MAX_REASON_LENGTH, MessageTag } from '../constants.ts'

/** Ends a lease. Signed by its tenant or its provider; closing twice changes nothing. */
export interface CloseBody {
  /** the lease's order ID */
  lease: Uint8Array
  reason: string
}

export function validateClose (v: unknown, path: string): CloseBody {
  const o = map(v, path, ['lease', 'reason'])
  return { lease: bytes(o.lease, field(path, 'lease'), HASH_BYTES), reason: str(o.reason, field(path, 'reason'), MAX_REASON_LENGTH) }
}

export const CLOSE_TAG = MessageTag.CLOSE
