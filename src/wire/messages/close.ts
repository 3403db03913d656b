import { map, field, str, bytes } from '../schema.ts'
import { CloseCode, HASH_BYTES, MAX_REASON_LENGTH, MessageTag } from '../constants.ts'
import { schemaError } from '../errors.ts'

/** Ends a lease. Signed by its tenant or its provider; closing twice changes nothing. */
export interface CloseBody {
  /** the lease's order ID */
  lease: Uint8Array
  reason: string
  /**
   * Why, for machines: `provider-lost` (the provider stopped answering while the lease ran) or
   * `provider-failed` (it never took the manifest). Absent on an ordinary close. The committee
   * records it, and a tenant's counts against the provider's record (protocols/committee.md §6.2).
   */
  code?: CloseCode
}

export function validateClose (v: unknown, path: string): CloseBody {
  const o = map(v, path, ['lease', 'reason'], ['code'])
  const body: CloseBody = { lease: bytes(o.lease, field(path, 'lease'), HASH_BYTES), reason: str(o.reason, field(path, 'reason'), MAX_REASON_LENGTH) }
  if (o.code !== undefined) {
    const code = str(o.code, field(path, 'code'), 32, 1)
    if (!(Object.values(CloseCode) as string[]).includes(code)) throw schemaError(field(path, 'code'), `must be one of ${Object.values(CloseCode).join(', ')}`)
    body.code = code as CloseCode
  }
  return body
}

export const CLOSE_TAG = MessageTag.CLOSE
