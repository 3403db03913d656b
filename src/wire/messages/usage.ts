import { map, field, uint, bytes, price } from '../schema.ts'
import type { Price } from '../schema.ts'
import { HASH_BYTES, MessageTag } from '../constants.ts'
import { schemaError } from '../errors.ts'

/**
 * A provider's statement of what a lease cost over one period: time × the agreed price.
 * Signed by the provider; the tenant answers each with a UsageAck.
 */
export interface UsageStatementBody {
  lease: Uint8Array
  /** 0, 1, 2, … per lease */
  sequence: number
  /** ms since the Unix epoch; a period starts where the previous one ended */
  periodStart: number
  periodEnd: number
  /** the agreed price per price period (protocols/lease.md), as in the winning bid */
  rate: Price
  /** cost of this period */
  amount: Price
  /** cost of the lease so far, this period included */
  total: Price
}

/** The tenant's countersignature of one usage statement. */
export interface UsageAckBody {
  lease: Uint8Array
  /** the statement's message ID */
  statement: Uint8Array
  sequence: number
}

export function validateUsageStatement (v: unknown, path: string): UsageStatementBody {
  const o = map(v, path, ['lease', 'sequence', 'periodStart', 'periodEnd', 'rate', 'amount', 'total'])
  const body = {
    lease: bytes(o.lease, field(path, 'lease'), HASH_BYTES),
    sequence: uint(o.sequence, field(path, 'sequence')),
    periodStart: uint(o.periodStart, field(path, 'periodStart')),
    periodEnd: uint(o.periodEnd, field(path, 'periodEnd')),
    rate: price(o.rate, field(path, 'rate')),
    amount: price(o.amount, field(path, 'amount')),
    total: price(o.total, field(path, 'total'))
  }
  if (body.periodEnd <= body.periodStart) throw schemaError(field(path, 'periodEnd'), 'must be after periodStart')
  if (body.amount.denom !== body.rate.denom || body.total.denom !== body.rate.denom) throw schemaError(field(path, 'amount.denom'), 'rate, amount and total must share one denom')
  return body
}

export function validateUsageAck (v: unknown, path: string): UsageAckBody {
  const o = map(v, path, ['lease', 'statement', 'sequence'])
  return {
    lease: bytes(o.lease, field(path, 'lease'), HASH_BYTES),
    statement: bytes(o.statement, field(path, 'statement'), HASH_BYTES),
    sequence: uint(o.sequence, field(path, 'sequence'))
  }
}

export const USAGE_STATEMENT_TAG = MessageTag.USAGE_STATEMENT
export const USAGE_ACK_TAG = MessageTag.USAGE_ACK
