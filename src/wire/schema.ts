// Small validators for decoded CBOR. Each takes the value and its path and returns the typed
// value or throws a WireError naming the path, so a message is either whole or refused.
import { schemaError } from './errors.ts'
import { AMOUNT_PATTERN, MAX_DENOM_LENGTH } from './constants.ts'

/** a decoded CBOR map: a plain object, nothing else */
function plainMap (v: unknown, path: string): Record<string, unknown> {
  if (v == null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array || Object.getPrototypeOf(v) !== Object.prototype) {
    throw schemaError(path, 'must be a map')
  }
  return v as Record<string, unknown>
}

export function map (v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  const o = plainMap(v, path)
  // for-in over a plain object (checked above) is its own keys, without a list of them
  for (const k in o) {
    if (!required.includes(k) && !optional.includes(k)) throw schemaError(path === '' ? k : `${path}.${k}`, 'unknown field')
  }
  for (const k of required) {
    if (!(k in o) || o[k] === undefined) throw schemaError(path === '' ? k : `${path}.${k}`, 'is required')
  }
  return o
}

export function field (path: string, k: string): string {
  return path === '' ? k : `${path}.${k}`
}

export function str (v: unknown, path: string, max: number, min = 0): string {
  if (typeof v !== 'string') throw schemaError(path, 'must be a string')
  if (v.length > max) throw schemaError(path, `must be at most ${max} characters`)
  if (v.length < min) throw schemaError(path, min === 1 ? 'must not be empty' : `must be at least ${min} characters`)
  return v
}

export function uint (v: unknown, path: string, max = Number.MAX_SAFE_INTEGER, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw schemaError(path, 'must be an integer')
  if (v < min || v > max) throw schemaError(path, `must be between ${min} and ${max}`)
  return v
}

export function bool (v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw schemaError(path, 'must be true or false')
  return v
}

export function bytes (v: unknown, path: string, len: number | { min: number, max: number }): Uint8Array {
  if (!(v instanceof Uint8Array)) throw schemaError(path, 'must be a byte string')
  if (typeof len === 'number') {
    if (v.length !== len) throw schemaError(path, `must be ${len} bytes`)
  } else if (v.length < len.min || v.length > len.max) {
    throw schemaError(path, `must be ${len.min}-${len.max} bytes`)
  }
  // a Buffer (or other subclass) is handed on as a plain Uint8Array over the same bytes
  return Object.getPrototypeOf(v) === Uint8Array.prototype ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
}

/** a list of `min` to `max` entries, as decoded (not copied) */
export function list (v: unknown, path: string, max: number, min = 0): unknown[] {
  if (!Array.isArray(v)) throw schemaError(path, 'must be a list')
  if (v.length > max) throw schemaError(path, `must have at most ${max} entries`)
  if (v.length < min) throw schemaError(path, min === 1 ? 'must not be empty' : `must have at least ${min} entries`)
  return v
}

export function arr<T> (v: unknown, path: string, max: number, item: (x: unknown, p: string) => T, min = 0): T[] {
  return list(v, path, max, min).map((x, i) => item(x, `${path}[${i}]`))
}

/** string → string map with bounded keys, values and count */
export function strMap (v: unknown, path: string, maxEntries: number, maxKey: number, maxValue: number): Record<string, string> {
  const o = plainMap(v, path)
  const keys = Object.keys(o)
  if (keys.length > maxEntries) throw schemaError(path, `must have at most ${maxEntries} entries`)
  // sorted in place (CBOR orders keys shorter first; the typed map is in plain string order): a
  // map has a few keys, and Array.prototype.sort copies them first
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]
    let j = i - 1
    for (; j >= 0 && keys[j] > k; j--) keys[j + 1] = keys[j]
    keys[j + 1] = k
  }
  const out: Record<string, string> = {}
  for (const k of keys) {
    const value = o[k]
    // the path is spelt out only for the error
    if (k.length < 1 || k.length > maxKey || typeof value !== 'string' || value.length > maxValue) {
      str(k, `${path}.${k}`, maxKey, 1)
      str(value, `${path}.${k}`, maxValue)
    }
    out[k] = value as string
  }
  return out
}

export interface Price { denom: string, amount: string }

export function price (v: unknown, path: string): Price {
  const o = map(v, path, ['denom', 'amount'])
  const denom = str(o.denom, field(path, 'denom'), MAX_DENOM_LENGTH, 1)
  const amount = str(o.amount, field(path, 'amount'), 49, 1)
  if (!AMOUNT_PATTERN.test(amount)) throw schemaError(field(path, 'amount'), 'must be a non-negative decimal like "12" or "0.25"')
  return { denom, amount }
}
