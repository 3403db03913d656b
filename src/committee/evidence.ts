// Equivocation evidence: two signatures by one validator that an honest validator never makes
// together: two proposals for one (height, round) with different batches, two votes of one type
// for one (height, round) with different values, or two finalize signatures for one height with
// different headers. Evidence proves itself: anyone can check it with the signer's key.
import { openMessage } from '../wire/envelope.ts'
import type { SignedMessage } from '../wire/envelope.ts'
import { encodeCbor, decodeCbor } from '../wire/codec.ts'
import { verify as verifyNative } from '../identity/ed25519.ts'
import type { ProposalBody, VoteBody } from './messages.ts'
import type { EvidenceFrame, FinalizeSig } from './frames.ts'
import { validateFinalize } from './frames.ts'
import { batchValue, finalizeBytes } from './batch.ts'
import type { Verifier, CommitteeInfo } from './committee-file.ts'
import { CommitteeTag } from './constants.ts'
import { equal, hex } from './bytes.ts'

export interface Evidence {
  kind: 'proposal' | 'vote' | 'finalize'
  /** the equivocating validator's public key */
  validator: Uint8Array
  height: number
  round: number
  /** the two conflicting signed items: envelopes, or encoded finalize signatures */
  a: Uint8Array
  b: Uint8Array
  /** stable identity of this piece of evidence */
  key: string
}

export function encodeFinalize (f: FinalizeSig): Uint8Array {
  return encodeCbor({ epoch: f.epoch, height: f.height, header: f.header, validator: f.validator, sig: f.sig })
}

export function messageEvidence (a: SignedMessage, b: SignedMessage, kind: 'proposal' | 'vote'): Evidence | undefined {
  if (!equal(a.signer, b.signer) || a.tag !== b.tag) return undefined
  if (kind === 'proposal') {
    if (a.tag !== CommitteeTag.PROPOSAL) return undefined
    const pa = a.body as ProposalBody; const pb = b.body as ProposalBody
    if (pa.height !== pb.height || pa.round !== pb.round) return undefined
    const va = batchValue(a as SignedMessage<ProposalBody>); const vb = batchValue(b as SignedMessage<ProposalBody>)
    if (va.hashHex === vb.hashHex) return undefined
    const [x, y] = va.hashHex < vb.hashHex ? [a, b] : [b, a]
    return { kind, validator: a.signer, height: pa.height, round: pa.round, a: x.bytes, b: y.bytes, key: `proposal:${hex(a.signer)}:${pa.height}:${pa.round}:${[va.hashHex, vb.hashHex].sort().join(':')}` }
  }
  if (a.tag !== CommitteeTag.VOTE) return undefined
  const va = a.body as VoteBody; const vb = b.body as VoteBody
  if (va.height !== vb.height || va.round !== vb.round || va.type !== vb.type || equal(va.value, vb.value)) return undefined
  const [x, y] = hex(va.value) < hex(vb.value) ? [a, b] : [b, a]
  return { kind, validator: a.signer, height: va.height, round: va.round, a: x.bytes, b: y.bytes, key: `vote:${va.type}:${hex(a.signer)}:${va.height}:${va.round}:${[hex(va.value), hex(vb.value)].sort().join(':')}` }
}

export function finalizeEvidence (a: FinalizeSig, b: FinalizeSig): Evidence | undefined {
  if (!equal(a.validator, b.validator) || a.height !== b.height || equal(a.header, b.header)) return undefined
  const [x, y] = hex(a.header) < hex(b.header) ? [a, b] : [b, a]
  return { kind: 'finalize', validator: a.validator, height: a.height, round: 0, a: encodeFinalize(x), b: encodeFinalize(y), key: `finalize:${hex(a.validator)}:${a.height}:${[hex(a.header), hex(b.header)].sort().join(':')}` }
}

/** the committee of an epoch, as the node checking evidence knows it */
export type CommitteeOf = (epoch: number) => CommitteeInfo | undefined

/**
 * Checks evidence received from a peer: both halves must conflict, be signed by one validator that
 * is a member of the epoch they name (at a height of that epoch), and verify. Membership is
 * checked before any signature. `chain` is needed for finalize signatures; `committeeOf` gives
 * the committees the caller knows (without it, membership is not checked: offline use).
 * Returns the evidence, or undefined when it proves nothing.
 */
export function checkEvidence (f: EvidenceFrame, chain: Uint8Array, verifier: Verifier = verifyNative, committeeOf?: CommitteeOf): Evidence | undefined {
  const member = (epoch: number, height: number, key: Uint8Array): boolean => {
    if (committeeOf == null) return true
    const c = committeeOf(epoch)
    if (c == null || !c.index.has(hex(key)) || height < c.startHeight) return false
    const next = committeeOf(epoch + 1)
    return next == null || height < next.startHeight
  }
  try {
    if (f.kind === 'finalize') {
      const a = validateFinalize(decodeCbor(f.a, 1024, 'evidence.a'), 'evidence.a')
      const b = validateFinalize(decodeCbor(f.b, 1024, 'evidence.b'), 'evidence.b')
      if (a.epoch !== b.epoch || finalizeEvidence(a, b) == null) return undefined
      if (!member(a.epoch, a.height, a.validator)) return undefined
      if (!verifier(a.sig, finalizeBytes(chain, a.epoch, a.height, a.header), a.validator)) return undefined
      if (!verifier(b.sig, finalizeBytes(chain, b.epoch, b.height, b.header), b.validator)) return undefined
      return finalizeEvidence(a, b)
    }
    const open = (x: Uint8Array): SignedMessage => openMessage(x, { trusted: true, expect: f.kind === 'proposal' ? CommitteeTag.PROPOSAL : CommitteeTag.VOTE })
    const a = open(f.a)
    const b = open(f.b)
    const e = messageEvidence(a, b, f.kind)
    if (e == null) return undefined
    const ba = a.body as ProposalBody | VoteBody
    const bb = b.body as ProposalBody | VoteBody
    if (ba.epoch !== bb.epoch || !member(ba.epoch, ba.height, a.signer)) return undefined
    if (!verifier(a.sig, a.payload, a.signer) || !verifier(b.sig, b.payload, b.signer)) return undefined
    return e
  } catch {
    return undefined
  }
}
