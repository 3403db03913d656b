// souk gossip: the souk topics on a PubSub, each behind the shared validator. The application
// publishes SignedMessages and receives verified SignedMessages; the bytes in between are the
// envelopes exactly as signed.
import type { PeerId } from '@libp2p/interface'
import type { ReplayWindows, SignedMessage } from '../wire/index.ts'
import { NetError, NetErrorCode } from './errors.ts'
import { errorMessage } from '../util/index.ts'
import type { GossipValidator, ValidationResult, Precheck } from './validator.ts'
import type { PubSub } from './pubsub.ts'
import { MetricName } from './metrics.ts'
import type { NetMetrics } from './metrics.ts'
import { Verdict } from './verdict.ts'

export type GossipHandler = (msg: SignedMessage, from: PeerId, topic: string) => void

export interface SoukGossip {
  readonly topics: readonly string[]
  /**
   * Publishes a message this node signed (or relays one it verified). The tag must belong on the
   * topic. Resolves with the number of peers it went to directly (0: nobody heard it yet).
   */
  publish: (topic: string, msg: SignedMessage) => Promise<{ recipients: number }>
  /** handler for accepted messages of one topic, or of all with '*'; returns an unsubscribe function */
  onMessage: (topic: string, handler: GossipHandler) => () => void
  /** validates bytes that arrived another way (sync) exactly as gossip would, and delivers them on accept */
  ingest: (topic: string, from: PeerId, data: Uint8Array, opts?: { rateLimit?: boolean | 'signer' }) => ValidationResult
  /** a check on decoded messages of a topic before their signature is checked (Ignore when it objects) */
  addPrecheck: (topic: string, check: Precheck) => () => void
  score: (peer: PeerId) => number
  meshPeers: (topic: string) => string[]
  subscribers: (topic: string) => PeerId[]
}

export interface SoukGossipComponents {
  pubsub: PubSub<SignedMessage>
  validator: GossipValidator
  /** the validator's windows, one per topic */
  replay: ReplayWindows
  metrics?: NetMetrics
}

export function soukGossip (components: SoukGossipComponents): SoukGossip {
  const { pubsub, validator, replay } = components
  const handlers = new Map<string, Set<GossipHandler>>()
  const delivered = components.metrics?.counter(MetricName.GOSSIP_DELIVERED, 'accepted gossip messages handed to the application')
  const published = components.metrics?.counter(MetricName.GOSSIP_PUBLISHED, 'messages this node published')

  const deliver = (topic: string, msg: SignedMessage, from: PeerId): void => {
    delivered?.inc({ topic })
    for (const key of [topic, '*']) {
      for (const h of handlers.get(key) ?? []) {
        try {
          h(msg, from, topic)
        } catch {
          // a failing handler does not stop the others
        }
      }
    }
  }

  for (const topic of validator.topics) {
    pubsub.subscribe(topic, (from, data) => {
      const r = validator.validate(topic, from, data)
      return { verdict: r.verdict, value: r.message }
    })
  }
  pubsub.onMessage((topic, msg, from) => { deliver(topic, msg, from) })

  return {
    topics: validator.topics,
    async publish (topic, msg) {
      if (!validator.topics.includes(topic)) throw new NetError(NetErrorCode.UNKNOWN_TOPIC, `${topic} is not a souk topic this node speaks`)
      if (!validator.allows(topic, msg.tag)) throw new NetError(NetErrorCode.PUBLISH, `${msg.tag} does not belong on ${topic}`)
      // remember it, so that it coming back later (after gossipsub forgot it) is a replay here too
      const now = Date.now()
      try {
        replay.for(topic).accept(msg.idHex, msg.createdAt, now)
      } catch {
        // already known or outside the window: other nodes judge freshness themselves
      }
      try {
        const r = await pubsub.publish(topic, msg.bytes)
        published?.inc({ topic })
        return r
      } catch (err) {
        throw new NetError(NetErrorCode.PUBLISH, `publishing on ${topic} failed: ${errorMessage(err)}`)
      }
    },
    onMessage (topic, handler) {
      let set = handlers.get(topic)
      if (set == null) { set = new Set(); handlers.set(topic, set) }
      set.add(handler)
      return () => { set.delete(handler) }
    },
    ingest (topic, from, data, opts = {}) {
      const r = validator.validate(topic, from, data, Date.now(), opts)
      if (r.verdict === Verdict.ACCEPT && r.message != null) deliver(topic, r.message, from)
      return r
    },
    addPrecheck: (topic, check) => validator.addPrecheck(topic, check),
    score: (peer) => pubsub.score(peer),
    meshPeers: (topic) => pubsub.meshPeers(topic),
    subscribers: (topic) => pubsub.subscribers(topic)
  }
}
