// Gossip message IDs: sha256 of the whole envelope. Envelopes are canonical CBOR (protocols/
// wire.md §1), so the bytes are a function of (payload, signer, sig) and an honest message has
// exactly one gossip ID. The ID covers the signature on purpose: gossipsub marks an ID as seen
// before it validates the message, so were the ID the payload's alone, a peer could send an honest
// payload first with a broken signature, or in a non-canonical wrapping, and every copy of the
// real message after it would be dropped as a duplicate. Two validly signed envelopes of one
// payload (only its signer can make them) are two gossip messages and one souk message: the
// replay window, keyed by the souk ID sha256(payload), ignores the second.
import { hash } from 'node:crypto'

/**
 * The payload bytes inside an envelope `[payload, signer, sig]`, read straight from the CBOR
 * header when the envelope has its canonical shape (a definite array of three, the payload's
 * length in its shortest form, a 32-byte and a 64-byte string, nothing after); undefined otherwise
 * (the validator then refuses the bytes).
 */
export function envelopePayload (data: Uint8Array): Uint8Array | undefined {
  if (data.length < 2 || data[0] !== 0x83) return undefined
  const h = data[1]
  let len: number
  let off: number
  if (h >= 0x40 && h <= 0x57) { len = h - 0x40; off = 2 } else if (h === 0x58) {
    if (data.length < 3) return undefined
    len = data[2]; off = 3
    if (len < 24) return undefined
  } else if (h === 0x59) {
    if (data.length < 4) return undefined
    len = (data[2] << 8) | data[3]; off = 4
    if (len < 0x100) return undefined
  } else if (h === 0x5a) {
    if (data.length < 6) return undefined
    len = ((data[2] << 24) >>> 0) + ((data[3] << 16) | (data[4] << 8) | data[5]); off = 6
    if (len < 0x10000) return undefined
  } else {
    return undefined
  }
  const end = off + len
  if (end + 2 + 32 + 2 + 64 !== data.length) return undefined
  if (data[end] !== 0x58 || data[end + 1] !== 32 || data[end + 34] !== 0x58 || data[end + 35] !== 64) return undefined
  return data.subarray(off, end)
}

/** sha256 of the envelope bytes as they arrived. */
export function gossipMessageId (data: Uint8Array): Uint8Array {
  // one-shot hash: gossipsub asks for the ID of every copy that arrives, duplicates included
  return new Uint8Array(hash('sha256', data, 'buffer'))
}

export function messageIdToString (id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex')
}
