// Exact decimal amounts for prices. An amount is a BigInt counting units of 10^-18, so "0.1" +
// "0.2" is exactly "0.3" and no binary floating point ever touches a price. Strings in and out
// match the wire's amount rule: up to 30 integer digits and 18 fraction digits, no sign.
// One module for every layer that handles prices (SDL totals, bids, matching, usage).
import { AmountError } from './errors.ts'

/** decimal places kept */
export const PRICE_SCALE = 18
/** integer digits allowed */
export const PRICE_MAX_INTEGER_DIGITS = 30

/** 10^18: one whole unit */
export const ONE = 10n ** BigInt(PRICE_SCALE)
const MAX = 10n ** BigInt(PRICE_MAX_INTEGER_DIGITS + PRICE_SCALE) - 1n
const PATTERN = /^([0-9]{1,30})(?:\.([0-9]{1,18}))?$/

/** "12.5" → 12_500000000000000000n. Refuses signs, exponents, spaces and over 18 decimals. */
export function parseAmount (amount: string, path = 'amount'): bigint {
  if (typeof amount !== 'string') throw new AmountError('must be a decimal string like "12" or "0.25"', path)
  const m = PATTERN.exec(amount)
  if (m == null) {
    throw new AmountError(`${JSON.stringify(amount.slice(0, 64))} is not a non-negative decimal with at most ${PRICE_MAX_INTEGER_DIGITS} integer and ${PRICE_SCALE} fraction digits`, path)
  }
  const frac = (m[2] ?? '').padEnd(PRICE_SCALE, '0')
  return BigInt(m[1]) * ONE + BigInt(frac)
}

/** 12_500000000000000000n → "12.5": no trailing zeros, no exponent. */
export function formatAmount (units: bigint): string {
  if (units < 0n) throw new AmountError(`amount ${units} is negative`)
  if (units > MAX) throw new AmountError(`amount has more than ${PRICE_MAX_INTEGER_DIGITS} integer digits`)
  const whole = units / ONE
  const frac = (units % ONE).toString().padStart(PRICE_SCALE, '0').replace(/0+$/, '')
  return frac === '' ? whole.toString() : `${whole}.${frac}`
}

/** a + b, as strings */
export function addAmounts (...amounts: string[]): string {
  let total = 0n
  for (const a of amounts) total += parseAmount(a)
  return formatAmount(total)
}

/** amount × n for a non-negative integer n */
export function multiplyAmount (amount: string, n: number | bigint): string {
  return formatAmount(parseAmount(amount) * toCount(n))
}

/** -1, 0 or 1 */
export function compareAmounts (a: string, b: string): -1 | 0 | 1 {
  const x = parseAmount(a, 'a')
  const y = parseAmount(b, 'b')
  return x < y ? -1 : x > y ? 1 : 0
}

/** ⌈units × num / den⌉: a price per `den` of something, for `num` of it, rounded up to 10^-18 */
export function mulDivCeil (units: bigint, num: bigint, den: bigint): bigint {
  if (den <= 0n) throw new RangeError('denominator must be positive')
  const p = units * num
  return p === 0n ? 0n : (p + den - 1n) / den
}

function toCount (n: number | bigint): bigint {
  if (typeof n === 'bigint') {
    if (n < 0n) throw new RangeError('count must not be negative')
    return n
  }
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`count ${n} is not a non-negative integer`)
  return BigInt(n)
}

/** Σ amount × count, exactly */
export function sumProducts (terms: Array<{ amount: string, count: number }>): string {
  let total = 0n
  for (const t of terms) total += parseAmount(t.amount) * toCount(t.count)
  return formatAmount(total)
}
