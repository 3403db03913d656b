// What the simulator's network and adversaries read off a frame, decoded once per frame (the same
// bytes go to every peer of a broadcast).
import { openMessage } from '../../src/wire/envelope.ts'
import type { SignedMessage } from '../../src/wire/envelope.ts'
import { decodeFrame, CommitteeTag } from '../../src/committee/index.ts'
import type { Frame, ProposalBody, VoteBody } from '../../src/committee/index.ts'

export interface Peek {
  frame?: Frame
  /** the envelope of a `msg` frame */
  msg?: SignedMessage
  proposal?: ProposalBody
  vote?: VoteBody
  /** signer key, hex */
  signer?: string
  /** vote value, hex ('' for nil) */
  value?: string
}

const cache = new WeakMap<Uint8Array, Peek>()

export function peek (data: Uint8Array): Peek {
  let p = cache.get(data)
  if (p != null) return p
  p = {}
  try {
    p.frame = decodeFrame(data)
    if (p.frame.kind === 'msg') {
      const m = openMessage(p.frame.body, { trusted: true })
      p.msg = m
      p.signer = Buffer.from(m.signer).toString('hex')
      if (m.tag === CommitteeTag.PROPOSAL) p.proposal = m.body as ProposalBody
      else if (m.tag === CommitteeTag.VOTE) {
        p.vote = m.body as VoteBody
        p.value = Buffer.from(p.vote.value).toString('hex')
      }
    }
  } catch {}
  cache.set(data, p)
  return p
}

export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex')
