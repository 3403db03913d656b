// Decimal prices compared exactly: scaled to 18 fraction digits as BigInt, never floats.
import { AMOUNT_PATTERN } from '../wire/constants.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'

const SCALE = 18

/** "12.5" → 12500000000000000000n (amount × 10^18) */
export function parseAmount (s: string): bigint {
  if (typeof s !== 'string' || !AMOUNT_PATTERN.test(s)) throw new CommitteeError(CommitteeErrorCode.BAD_AMOUNT, `"${String(s)}" is not a decimal amount`)
  const [int, frac = ''] = s.split('.')
  return BigInt(int) * 10n ** BigInt(SCALE) + BigInt(frac.padEnd(SCALE, '0'))
}

/** the inverse of parseAmount, without trailing zeros */
export function formatAmount (v: bigint): string {
  const base = 10n ** BigInt(SCALE)
  const int = v / base
  const frac = (v % base).toString().padStart(SCALE, '0').replace(/0+$/, '')
  return frac === '' ? int.toString() : `${int}.${frac}`
}
