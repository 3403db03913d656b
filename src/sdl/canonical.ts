// The canonical JSON encoding the manifest hash covers. It is RFC 8785 (JSON Canonicalization
// Scheme) restricted to data a manifest holds, so any JCS library reproduces it:
// - objects: members with an `undefined` value are dropped; the rest are sorted by key, comparing
//   keys as sequences of UTF-16 code units; no whitespace anywhere;
// - strings: as ECMAScript JSON.stringify writes them;
// - numbers: safe integers only (|n| ≤ 2^53 − 1), written in decimal; -0 is written 0;
// - true, false, null; arrays keep their order and may not hold `undefined`.
// Anything else (fractions, NaN, bigint, functions, class instances, cycles) is refused.
import { createHash } from 'node:crypto'
import { CanonicalJsonError } from './errors.ts'
import type { Manifest } from './types.ts'

/** deeper than any manifest; stops cycles */
const MAX_DEPTH = 64

export function canonicalJson (value: unknown): string {
  return encode(value, '', 0)
}

function encode (value: unknown, path: string, depth: number): string {
  if (depth > MAX_DEPTH) throw new CanonicalJsonError(path, `nested deeper than ${MAX_DEPTH} levels (or a cycle)`)
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isSafeInteger(value)) throw new CanonicalJsonError(path, `${String(value)} is not a safe integer; the canonical form holds integers only`)
      return Object.is(value, -0) ? '0' : String(value)
    case 'string':
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value)) {
        const parts: string[] = []
        for (let i = 0; i < value.length; i++) {
          if (value[i] === undefined) throw new CanonicalJsonError(`${path}[${i}]`, 'undefined in a list')
          parts.push(encode(value[i], `${path}[${i}]`, depth + 1))
        }
        return `[${parts.join(',')}]`
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError(path, 'only plain objects, lists, strings, integers, booleans and null can be encoded')
      const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort()
      const parts = keys.map((k) => `${JSON.stringify(k)}:${encode((value as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`, depth + 1)}`)
      return `{${parts.join(',')}}`
    }
    default:
      throw new CanonicalJsonError(path, `a ${typeof value} cannot be encoded`)
  }
}

/** The canonical bytes of a manifest: UTF-8 of its canonical JSON. */
export function canonicalManifestBytes (manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(canonicalJson(manifest))
}

/** Lowercase hex sha256 of the canonical manifest bytes. */
export function manifestHash (manifest: Manifest): string {
  return createHash('sha256').update(canonicalManifestBytes(manifest)).digest('hex')
}
