// Gossip message IDs: sha256 of the whole envelope. Envelopes are canonical CBOR (protocols/
// wire.md §1), so the bytes are a function of (payload, signer, sig) and an honest message has
// exactly one gossip ID. The ID covers the signature on purpose: gossipsub marks an ID as seen
// before it validates the message, so were the ID the payload's alone, a peer could send an honest
// payload first with a broken signature, or in a non-canonical wrapping, and every copy of the
// real message after it would be dropped as a duplicate. Two validly signed envelopes of one
// payload (only its signer can make them) are two gossip messages and one souk message: the
// replay window, keyed by the souk ID sha256(payload), ignores the second.
import { hash } from 'node:crypto'
import { hexOf } from '../util/index.ts'

/** sha256 of the envelope bytes as they arrived. */
export function gossipMessageId (data: Uint8Array): Uint8Array {
  // one-shot hash: gossipsub asks for the ID of every copy that arrives, duplicates included
  return new Uint8Array(hash('sha256', data, 'buffer'))
}

export function messageIdToString (id: Uint8Array): string {
  return hexOf(id)
}
