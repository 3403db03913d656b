// CBOR via cbor-x, configured for untrusted input: no record extension, no structured clone,
// plain objects for maps. Size is checked before decoding; schema checks happen after.
import { Encoder, Decoder } from 'cbor-x'
import { WireError, WireErrorCode } from './errors.ts'

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, variableMapSize: true })
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })

export function encodeCbor (value: unknown): Uint8Array {
  const b = encoder.encode(value)
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

export function decodeCbor (bytes: Uint8Array, maxBytes: number, what = 'message'): unknown {
  if (!(bytes instanceof Uint8Array)) throw new WireError(WireErrorCode.MALFORMED, `${what} is not a byte array`)
  if (bytes.length > maxBytes) throw new WireError(WireErrorCode.TOO_LARGE, `${what} is ${bytes.length} bytes; the limit is ${maxBytes}`)
  if (bytes.length === 0) throw new WireError(WireErrorCode.MALFORMED, `${what} is empty`)
  try {
    // cbor-x throws on trailing bytes after the first item
    return decoder.decode(bytes)
  } catch (err: any) {
    if (err instanceof WireError) throw err
    throw new WireError(WireErrorCode.MALFORMED, `${what} is not valid CBOR (${String(err?.message ?? err).slice(0, 120)})`)
  }
}
