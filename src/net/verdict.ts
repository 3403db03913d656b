// A gossip validator answers Accept, Ignore or Reject. Reject means the sender forwarded
// something no honest node forwards (it cannot be valid anywhere, ever) and costs it score;
// Ignore means "not for me, now" — a message may be stale here yet fresh where it was sent, or
// already seen — so it costs nothing.
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { WireErrorCode } from '../wire/index.ts'

export const Verdict = {
  ACCEPT: 'accept',
  IGNORE: 'ignore',
  REJECT: 'reject'
} as const
export type Verdict = typeof Verdict[keyof typeof Verdict]

/** codes the net layer adds to the wire's own */
export const GossipErrorCode = {
  RATE_LIMITED: 'ERR_GOSSIP_RATE_LIMITED',
  THROTTLED: 'ERR_GOSSIP_THROTTLED',
  WRONG_TOPIC: 'ERR_GOSSIP_WRONG_TOPIC',
  /** can no longer matter here (a bid past its expiry or its order's bid window) */
  LATE: 'ERR_GOSSIP_LATE',
  INTERNAL: 'ERR_GOSSIP_INTERNAL'
} as const

/**
 * WireError code → verdict. Everything that is wrong with the bytes themselves (cannot be valid
 * on any node) is Reject; everything that depends on this node's clock or memory is Ignore.
 */
export const WIRE_VERDICTS: Readonly<Record<string, Exclude<Verdict, 'accept'>>> = {
  [WireErrorCode.TOO_LARGE]: Verdict.REJECT,
  [WireErrorCode.MALFORMED]: Verdict.REJECT,
  [WireErrorCode.NON_CANONICAL]: Verdict.REJECT,
  [WireErrorCode.SCHEMA]: Verdict.REJECT,
  [WireErrorCode.WRONG_TYPE]: Verdict.REJECT,
  [WireErrorCode.BAD_KEY]: Verdict.REJECT,
  [WireErrorCode.BAD_SIGNATURE]: Verdict.REJECT,
  // a newer node may speak a version this one does not; not the forwarder's fault
  [WireErrorCode.UNSUPPORTED_VERSION]: Verdict.IGNORE,
  [WireErrorCode.STALE]: Verdict.IGNORE,
  [WireErrorCode.FUTURE]: Verdict.IGNORE,
  [WireErrorCode.REPLAY]: Verdict.IGNORE,
  // this node's memory is full of recent messages: not the forwarder's fault
  [WireErrorCode.WINDOW_FULL]: Verdict.IGNORE,
  [GossipErrorCode.RATE_LIMITED]: Verdict.IGNORE,
  [GossipErrorCode.THROTTLED]: Verdict.IGNORE,
  [GossipErrorCode.WRONG_TOPIC]: Verdict.REJECT,
  [GossipErrorCode.LATE]: Verdict.IGNORE,
  [GossipErrorCode.INTERNAL]: Verdict.IGNORE
}

export function verdictOf (code: string): Exclude<Verdict, 'accept'> {
  return WIRE_VERDICTS[code] ?? Verdict.IGNORE
}

/** Our verdict as gossipsub's enum value. */
export function toTopicValidatorResult (v: Verdict): TopicValidatorResult {
  switch (v) {
    case Verdict.ACCEPT: return TopicValidatorResult.Accept
    case Verdict.REJECT: return TopicValidatorResult.Reject
    default: return TopicValidatorResult.Ignore
  }
}
