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

/** 10^0 … 10^18 */
const POW10: readonly bigint[] = Array.from({ length: PRICE_SCALE + 1 }, (_, i) => 10n ** BigInt(i))

/** the digits of `s` from `start` to `end` as a BigInt; up to 15 digits are summed as a number first */
function digits (s: string, start: number, end: number): bigint {
  if (end - start > 15) return BigInt(s.slice(start, end))
  let n = 0
  for (let i = start; i < end; i++) n = n * 10 + (s.charCodeAt(i) - 48)
  return BigInt(n)
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57

/**
 * "12.5" → 12_500000000000000000n. Refuses signs, exponents, spaces and over 18 decimals: the
 * amount must match /^[0-9]{1,30}(\.[0-9]{1,18})?$/. Matching, tallies and planning parse every
 * bid's prices again and again, so this scans the string instead of matching a pattern and padding.
 */
export function parseAmount (amount: string, path = 'amount'): bigint {
  if (typeof amount !== 'string') throw new AmountError('must be a decimal string like "12" or "0.25"', path)
  const n = amount.length
  let i = 0
  while (i < n && isDigit(amount.charCodeAt(i))) i++
  const intEnd = i
  const dot = i < n && amount.charCodeAt(i) === 46
  if (dot) {
    i++
    while (i < n && isDigit(amount.charCodeAt(i))) i++
  }
  const fracLen = dot ? i - intEnd - 1 : 0
  // a dot needs a digit after it ("1." is refused), and nothing may follow the digits
  if (intEnd < 1 || intEnd > PRICE_MAX_INTEGER_DIGITS || (dot && fracLen === 0) || fracLen > PRICE_SCALE || i !== n) {
    throw new AmountError(`${JSON.stringify(amount.slice(0, 64))} is not a non-negative decimal with at most ${PRICE_MAX_INTEGER_DIGITS} integer and ${PRICE_SCALE} fraction digits`, path)
  }
  const whole = digits(amount, 0, intEnd) * ONE
  return fracLen === 0 ? whole : whole + digits(amount, intEnd + 1, n) * POW10[PRICE_SCALE - fracLen]
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
