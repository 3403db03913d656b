// Gossip message IDs are souk message IDs: sha256 of the signed payload inside the envelope, so
// one message re-wrapped (another envelope, same payload) is a duplicate to gossipsub too.
import { hash } from 'node:crypto'

/**
 * The payload bytes inside an envelope `[payload, signer, sig]`, read straight from the CBOR
 * header (definite-length array of 3, then a byte string); undefined when the bytes are not
 * shaped like that (the validator then rejects them).
 */
export function envelopePayload (data: Uint8Array): Uint8Array | undefined {
  if (data.length < 2 || data[0] !== 0x83) return undefined
  const h = data[1]
  let len: number
  let off: number
  if (h >= 0x40 && h <= 0x57) { len = h - 0x40; off = 2 } else if (h === 0x58) {
    if (data.length < 3) return undefined
    len = data[2]; off = 3
  } else if (h === 0x59) {
    if (data.length < 4) return undefined
    len = (data[2] << 8) | data[3]; off = 4
  } else if (h === 0x5a) {
    if (data.length < 6) return undefined
    len = ((data[2] << 24) >>> 0) + ((data[3] << 16) | (data[4] << 8) | data[5]); off = 6
  } else {
    return undefined
  }
  if (off + len > data.length) return undefined
  return data.subarray(off, off + len)
}

const INVALID_PREFIX = new TextEncoder().encode('souk/invalid-envelope\n')

/** sha256(payload), or for bytes that are no envelope a hash kept apart from those by a prefix. */
export function gossipMessageId (data: Uint8Array): Uint8Array {
  // one-shot hash: gossipsub asks for the ID of every copy that arrives, duplicates included
  const payload = envelopePayload(data)
  return new Uint8Array(hash('sha256', payload ?? Buffer.concat([INVALID_PREFIX, data]), 'buffer'))
}

export function messageIdToString (id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')
}
