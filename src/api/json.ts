/**
 * JSON as the control API and the CLI show it: bytes as lowercase hex, bigints as decimal text.
 * `this[k]` is the value before toJSON, which would turn a Buffer into { type, data }.
 */
export function toJsonText (value: unknown, space?: number): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, k, v: unknown) {
    const raw = this[k]
    if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex')
    if (typeof v === 'bigint') return v.toString()
    return v
  }, space)
}
