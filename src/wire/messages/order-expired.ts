import { map, field, str, uint, bytes } from '../schema.ts'
import { HASH_BYTES, MAX_REASON_LENGTH, MAX_NAME_LENGTH } from '../constants.ts'

/**
 * A validator's statement that an order ended without a lease. Signed by a committee member; a
 * tenant believes it once f+1 distinct members said so, so one faulty validator cannot end an order.
 */
export interface OrderExpiredBody {
  order: Uint8Array
  /** `no-bids`, `no-fitting-bid`, `ordered-after-deadline` */
  code: string
  reason: string
  /** height of the final batch that decided it */
  height: number
}

export function validateOrderExpired (v: unknown, path: string): OrderExpiredBody {
  const o = map(v, path, ['order', 'code', 'reason', 'height'])
  return {
    order: bytes(o.order, field(path, 'order'), HASH_BYTES),
    code: str(o.code, field(path, 'code'), MAX_NAME_LENGTH, 1),
    reason: str(o.reason, field(path, 'reason'), MAX_REASON_LENGTH),
    height: uint(o.height, field(path, 'height'))
  }
}
