// Batch headers: building them, decoding them out of proposals, and the bytes behind the
// finalize (certificate) signature.
import { encodeCbor, decodeCbor } from '../wire/codec.ts'
import type { SignedMessage } from '../wire/envelope.ts'
import { WireError } from '../wire/errors.ts'
import { validateHeader, headerRecord } from './messages.ts'
import type { HeaderBody, ProposalBody } from './messages.ts'
import { headerHash } from './merkle.ts'
import { concat, hex, sha256, u64, utf8 } from './bytes.ts'
import { Domain } from './constants.ts'

/** a proposal with its header decoded and its value (header hash) computed */
export interface BatchValue {
  msg: SignedMessage<ProposalBody>
  header: HeaderBody
  bodyHash: Uint8Array
  hash: Uint8Array
  hashHex: string
}

export function encodeHeader (h: HeaderBody): Uint8Array {
  return encodeCbor(headerRecord(h))
}

/** Decodes the proposal's header; throws WireError when it is not a header. */
export function batchValue (msg: SignedMessage<ProposalBody>): BatchValue {
  const header = validateHeader(decodeCbor(msg.body.header, 4096, 'header'), 'header')
  if (header.height !== msg.body.height || header.epoch !== msg.body.epoch) {
    throw new WireError('ERR_WIRE_SCHEMA', 'header height/epoch differ from the proposal\'s')
  }
  const bodyHash = sha256(msg.body.header)
  const hash = headerHash(msg.body.leaseRoot, bodyHash)
  return { msg, header, bodyHash, hash, hashHex: hex(hash) }
}

/** sha256 of IDs concatenated (the items and lastCommit commitments of a header) */
export function idsHash (ids: readonly Uint8Array[]): Uint8Array {
  return sha256(concat(ids))
}

/** committee time from the lastCommit's timestamps: the element at floor(k/2) of the sorted k */
export function medianTime (times: readonly number[]): number {
  const s = [...times].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** bytes each validator signs once it knows batch `height` is final: the certificate signature */
export function finalizeBytes (chain: Uint8Array, epoch: number, height: number, header: Uint8Array): Uint8Array {
  return concat([utf8(Domain.FINALIZE), chain, u64(epoch), u64(height), header])
}
