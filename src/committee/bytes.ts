// Small byte helpers used across the committee module.
import { hash } from 'node:crypto'
import { hexOf } from '../util/index.ts'

export function hex (b: Uint8Array): string {
  return hexOf(b)
}

export function fromHex (s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'))
}

export function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function compare (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

export function concat (parts: readonly Uint8Array[]): Uint8Array {
  let len = 0
  for (let i = 0; i < parts.length; i++) len += parts[i].length
  const out = new Uint8Array(len)
  let o = 0
  for (let i = 0; i < parts.length; i++) { out.set(parts[i], o); o += parts[i].length }
  return out
}

export function u64 (n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}

export function utf8 (s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

export function sha256 (...parts: Uint8Array[]): Uint8Array {
  // one-shot over the joined parts: a Hash object per call costs more than the copy (leaves,
  // Merkle nodes and tie keys are a few hundred bytes at most)
  return new Uint8Array(hash('sha256', parts.length === 1 ? parts[0] : concat(parts), 'buffer'))
}

export const EMPTY32 = new Uint8Array(32)
