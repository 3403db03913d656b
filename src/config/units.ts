// Capacity settings in the units the SDL uses: `cpu: 2` or `cpu: 2000m`, `memory: 16Gi`. A bare
// number that is far more likely a unit left out (`cpu: 2000`, `memory: 16`) is refused with both
// readings, so a typo never becomes a provider offering 2000 CPUs or 16 bytes.
import { parseCpu, parseSize, formatCpu, formatSize } from '../sdl/index.ts'
import { errorMessage } from '../util/index.ts'

/** a bare cpu number above this is read as millicpu written without `m` */
export const MAX_BARE_CPUS = 512
/** a bare size below this (1 MiB) is read as a size written without its unit */
export const MIN_BARE_BYTES = 1024 * 1024

export type QuantityKind = 'cpu' | 'bytes'

/** settings that take SDL quantities, and the internal unit each becomes (millicpu, bytes) */
export const QUANTITY_SETTINGS: Readonly<Record<string, QuantityKind>> = Object.freeze({
  'provider.cpu': 'cpu',
  'provider.memory': 'bytes',
  'provider.storage': 'bytes',
  'log.maxBytes': 'bytes'
})

const isBare = (v: unknown): boolean => typeof v === 'number' || (typeof v === 'string' && /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(v))

/**
 * A capacity setting → millicpu or bytes; 0 keeps its meaning (read it from the host).
 * Throws an Error whose message is the problem to report at the setting's path.
 */
export function parseQuantitySetting (kind: QuantityKind, value: unknown): number {
  if (value === 0 || value === '0') return 0
  if (kind === 'cpu') {
    let milli: number
    try { milli = parseCpu(value) } catch (err) { throw new Error(errorMessage(err).replace(/ \(use a number of cpus.*$/, '') + ': use a number of CPUs like 2 or 0.5, or millicpu like 2000m') }
    if (isBare(value) && Number(value) > MAX_BARE_CPUS) {
      const n = Number(value)
      throw new Error(`${n} would be ${n} CPUs; if you meant ${n} millicpu (${formatCpu(n)} CPU${n === 1000 ? '' : 's'}), write ${n}m or ${formatCpu(n)}`)
    }
    return milli
  }
  let bytes: number
  try { bytes = parseSize(value) } catch (err) { throw new Error(errorMessage(err)) }
  if (isBare(value) && bytes < MIN_BARE_BYTES) {
    const n = Number(value)
    throw new Error(`${n} would be ${n} bytes; if you meant ${n} GiB write ${n}Gi (or ${n}Mi for MiB); sizes take a unit: k, Ki, M, Mi, G, Gi, T, Ti`)
  }
  return bytes
}

/** how a capacity reads to a person: `2 CPUs`, `16Gi` */
export function describeQuantity (kind: QuantityKind, value: number): string {
  return kind === 'cpu' ? `${formatCpu(value)} CPU${value === 1000 ? '' : 's'}` : formatSize(value)
}
