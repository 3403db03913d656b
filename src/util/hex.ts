// Lowercase hex of bytes. IDs and keys are turned into map keys many times per message; Node's
// own hex encoder, called on the bytes directly, skips the Buffer view `Buffer.from(…)` makes
// each time (half the time, and nothing to collect but the string).
type HexSlice = (this: Uint8Array, start: number, end: number) => string

const hexSlice = (Buffer.prototype as unknown as { hexSlice?: HexSlice }).hexSlice

export const hexOf: (b: Uint8Array) => string = typeof hexSlice === 'function'
  ? (b) => hexSlice.call(b, 0, b.length)
  : (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
