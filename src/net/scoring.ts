// gossipsub peer-score parameters for souk topics. Only misbehaviour costs score: invalid
// messages (Reject verdicts, squared) and sustained rate-limit excess (application penalty).
// Delivery-rate penalties are off: souk topics are bursty and quiet for long stretches, and
// penalising quiet mesh peers would prune honest ones.
import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'
import type { PenaltyBook } from './penalties.ts'

export interface ScoringInit {
  topics: readonly string[]
  penalties: PenaltyBook
  /** score points per squared invalid message (negative) */
  invalidMessageWeight?: number
  /** fraction of the invalid-message counter kept per decay interval (1 s) */
  invalidMessageDecay?: number
  /** IPs exempt from the colocation penalty (loopback test networks) */
  ipColocationWhitelist?: readonly string[]
  /** score weight of more than `ipColocationThreshold` peers on one IP (negative; 0 turns it off) */
  ipColocationWeight?: number
  ipColocationThreshold?: number
}

export const DEFAULT_SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 5
}

export function scoreParams (init: ScoringInit): Partial<PeerScoreParams> {
  const topic: Partial<TopicScoreParams> = {
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 300,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 20,
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.9,
    meshMessageDeliveriesCap: 1,
    meshMessageDeliveriesThreshold: 0,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 60_000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.9,
    invalidMessageDeliveriesWeight: init.invalidMessageWeight ?? -10,
    invalidMessageDeliveriesDecay: init.invalidMessageDecay ?? 0.97
  }
  const topics: Record<string, TopicScoreParams> = {}
  for (const t of init.topics) topics[t] = topic as TopicScoreParams
  return {
    topics,
    topicScoreCap: 10,
    // one penalty point costs as much as a graylist-worthy fraction of score
    appSpecificScore: (peer: string) => -init.penalties.points(peer),
    appSpecificWeight: 20,
    IPColocationFactorWeight: init.ipColocationWeight ?? -5,
    IPColocationFactorThreshold: init.ipColocationThreshold ?? 10,
    IPColocationFactorWhitelist: new Set(init.ipColocationWhitelist ?? []),
    behaviourPenaltyWeight: -10,
    behaviourPenaltyThreshold: 0,
    behaviourPenaltyDecay: 0.2,
    decayInterval: 1000,
    decayToZero: 0.01,
    retainScore: 3600 * 1000
  }
}
