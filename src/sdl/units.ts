// CPU and byte quantities as Akash writes them. Arithmetic is exact (decimal digits as BigInt),
// so "4.75Gi" and "1.5G" give the same bytes on every machine.
import { MAX_BYTES, MAX_MILLICPU, MILLICPU } from './constants.ts'
import { SdlUnitError } from './errors.ts'

/** Akash's size suffixes: decimal (k, M, G, …) and binary (Ki, Mi, Gi, …). */
export const SIZE_UNITS: Readonly<Record<string, bigint>> = Object.freeze({
  k: 1000n,
  Ki: 1024n,
  M: 1000n ** 2n,
  Mi: 1024n ** 2n,
  G: 1000n ** 3n,
  Gi: 1024n ** 3n,
  T: 1000n ** 4n,
  Ti: 1024n ** 4n,
  P: 1000n ** 5n,
  Pi: 1024n ** 5n,
  E: 1000n ** 6n,
  Ei: 1024n ** 6n
})

const DECIMAL = /^([0-9]{1,30})?(?:\.([0-9]{1,30}))?$/

interface Decimal { digits: bigint, scale: number }

function decimal (text: string): Decimal | undefined {
  const m = DECIMAL.exec(text)
  if (m == null || (m[1] == null && m[2] == null)) return undefined
  const frac = m[2] ?? ''
  return { digits: BigInt((m[1] ?? '0') + frac), scale: frac.length }
}

/** A JavaScript number as the decimal it was written as ("0.1", not 0.1000000000000000055…). */
function numberText (value: number): string | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined
  const s = String(value)
  return /e/i.test(s) ? undefined : s
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a map'
  return String(value)
}

/**
 * CPU units → millicpu. Accepts a number of cpus (`1`, `0.5`), the same as a string (`"0.5"`),
 * or millicpu with an `m` suffix (`"100m"`). The result must be a whole number of millicpu.
 */
export function parseCpu (value: unknown): number {
  let milli: bigint | undefined
  if (typeof value === 'number' || typeof value === 'string') {
    const text = typeof value === 'number' ? numberText(value) : value.trim()
    if (text != null && text.endsWith('m')) {
      const d = decimal(text.slice(0, -1))
      if (d != null && d.scale === 0) milli = d.digits
    } else if (text != null) {
      const d = decimal(text)
      if (d != null) {
        const scaled = d.digits * BigInt(MILLICPU)
        const div = 10n ** BigInt(d.scale)
        if (scaled % div !== 0n) throw new SdlUnitError(value, `${describe(value)} is not a whole number of millicpu (use at most 3 decimals, or "100m")`)
        milli = scaled / div
      }
    }
  }
  if (milli == null) throw new SdlUnitError(value, `${describe(value)} is not a cpu amount (use a number of cpus like 0.5 or 2, or millicpu like "100m")`)
  if (milli > BigInt(MAX_MILLICPU)) throw new SdlUnitError(value, `${describe(value)} is more cpu than can be requested (at most ${MAX_MILLICPU / MILLICPU})`)
  return Number(milli)
}

/**
 * Suffixes that people write but Akash does not define, read as what they plainly mean:
 * any letter case, with or without a trailing b/B (`GB`, `gb`, `Gb` → G; `gi`, `GiB` → Gi).
 * A lone `m` is refused: in Kubernetes it means milli, in Docker it means MiB.
 */
function lenientSuffix (suffix: string): string | undefined {
  const m = /^([kKmMgGtTpPeE])([iI])?[bB]?$/.exec(suffix)
  if (m == null || suffix === 'm') return undefined
  const letter = m[1] === 'k' || m[1] === 'K' ? (m[2] != null ? 'K' : 'k') : m[1].toUpperCase()
  return letter + (m[2] != null ? 'i' : '')
}

export interface ParsedSize {
  bytes: number
  /** set when the value used a suffix Akash does not define: the suffix it was read as */
  readAs?: string
}

/** parseSize, also telling whether a non-Akash suffix (`GB`, `gi`, …) was read leniently */
export function parseSizeDetailed (value: unknown): ParsedSize {
  let bytes: bigint | undefined
  let readAs: string | undefined
  if (typeof value === 'number' || typeof value === 'string') {
    const text = typeof value === 'number' ? numberText(value) : value.trim()
    if (text != null) {
      const m = /^([0-9.]+)\s*([A-Za-z]*)$/.exec(text)
      if (m != null) {
        const d = decimal(m[1])
        let suffix = m[2]
        if (suffix !== '' && SIZE_UNITS[suffix] == null) {
          const lenient = lenientSuffix(suffix)
          if (lenient != null && SIZE_UNITS[lenient] != null) {
            readAs = lenient
            suffix = lenient
          }
        }
        const unit = suffix === '' ? 1n : SIZE_UNITS[suffix]
        if (d != null && unit != null) bytes = (d.digits * unit) / (10n ** BigInt(d.scale))
        else if (d != null && unit == null) {
          throw new SdlUnitError(value, `${describe(value)} has an unknown unit ${JSON.stringify(m[2])} (use k, Ki, M, Mi, G, Gi, T, Ti, P, Pi, E, Ei or plain bytes)`)
        }
      }
    }
  }
  if (bytes == null) throw new SdlUnitError(value, `${describe(value)} is not a size (use bytes, or a number with a unit like 512Mi, 1Gi or 1.5G)`)
  if (bytes > BigInt(MAX_BYTES)) throw new SdlUnitError(value, `${describe(value)} is too large (at most ${MAX_BYTES} bytes)`)
  return readAs != null ? { bytes: Number(bytes), readAs } : { bytes: Number(bytes) }
}

/**
 * A byte size → bytes. Accepts a plain number of bytes (`1073741824`) or a number with one of
 * Akash's suffixes: `k M G T P E` (powers of 1000) and `Ki Mi Gi Ti Pi Ei` (powers of 1024),
 * e.g. `512Mi`, `1Gi`, `1.5G`. Fractions of a byte are dropped, as Akash does. Common
 * misspellings are read leniently: `GB`/`gb`/`Gb` as `G`, `gi`/`GiB` as `Gi` (a lone `m` is refused).
 */
export function parseSize (value: unknown): number {
  return parseSizeDetailed(value).bytes
}

const FORMAT_UNITS = ['Ei', 'E', 'Pi', 'P', 'Ti', 'T', 'Gi', 'G', 'Mi', 'M', 'Ki', 'k'] as const

/**
 * Bytes for people: the first unit (largest first) that writes it exactly with at most two
 * decimals and fewer than 10,000 whole units (`512Mi`, `1.5Gi`, `1.5G`); otherwise an
 * approximation in the largest binary unit (`~2.4Gi`).
 */
export function formatSize (bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) return String(bytes)
  const b = BigInt(bytes)
  for (const suffix of FORMAT_UNITS) {
    const unit = SIZE_UNITS[suffix]
    if (b < unit || (b * 100n) % unit !== 0n) continue
    const hundredths = (b * 100n) / unit
    const whole = hundredths / 100n
    if (whole >= 10000n) continue
    const frac = (hundredths % 100n).toString().padStart(2, '0').replace(/0+$/, '')
    return `${whole}${frac === '' ? '' : '.' + frac}${suffix}`
  }
  if (bytes < 1024) return String(bytes)
  for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const unit = Number(SIZE_UNITS[suffix])
    if (bytes >= unit) return `~${trimDecimal((bytes / unit).toFixed(1))}${suffix}`
  }
  return String(bytes)
}

/** Millicpu as cpus: 500 → `0.5`, 2000 → `2`. */
export function formatCpu (millicpu: number): string {
  return trimDecimal((millicpu / MILLICPU).toFixed(3))
}

function trimDecimal (s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s
}
