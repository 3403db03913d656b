// The one place that knows gossipsub. The rest of souk sees this small interface (subscribe with
// a validator, publish, onMessage), so the pubsub implementation can be swapped.
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, GossipsubMessage, Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { toTopicValidatorResult } from './verdict.ts'
import type { Verdict } from './verdict.ts'

export interface PubSubValidation<T> {
  verdict: Verdict
  /** what the application receives when the verdict is accept */
  value?: T
}

/** Runs on every message received on a topic, before anything is delivered or forwarded. */
export type PubSubValidator<T> = (from: PeerId, data: Uint8Array) => PubSubValidation<T>

export type PubSubHandler<T> = (topic: string, value: T, from: PeerId) => void

export interface PubSub<T> {
  subscribe: (topic: string, validate: PubSubValidator<T>) => void
  unsubscribe: (topic: string) => void
  /** sends bytes to the topic; resolves with how many peers they went to directly */
  publish: (topic: string, data: Uint8Array) => Promise<{ recipients: number }>
  /** every accepted message of every subscribed topic; returns a function that removes the handler */
  onMessage: (handler: PubSubHandler<T>) => () => void
  /** the peer's score as this node sees it */
  score: (peer: PeerId) => number
  /** peers known to be subscribed to the topic that a publish reaches now (an outbound stream is open) */
  subscribers: (topic: string) => PeerId[]
  /** peers in this node's mesh for the topic */
  meshPeers: (topic: string) => string[]
}

interface GossipSubInternals {
  getScore?: (peer: string) => number
  getMeshPeers?: (topic: string) => string[]
  streamsOutbound?: Map<string, unknown>
}

/** Adapts a started gossipsub service. */
export function gossipsubPubSub<T> (gs: GossipSub): PubSub<T> {
  // the validated value rides on the message object gossipsub hands from validator to event
  const accepted = new WeakMap<Message, T>()
  const handlers = new Set<PubSubHandler<T>>()
  const internals = gs as unknown as GossipSubInternals

  gs.addEventListener('gossipsub:message', (evt: CustomEvent<GossipsubMessage>) => {
    const { msg, propagationSource } = evt.detail
    const value = accepted.get(msg)
    if (value === undefined) return // published by this node (emitSelf) or not validated here
    accepted.delete(msg)
    for (const h of handlers) {
      try {
        h(msg.topic, value, propagationSource)
      } catch {
        // one handler's failure must not stop the others or gossipsub
      }
    }
  })

  return {
    subscribe (topic, validate) {
      gs.topicValidators.set(topic, (from, msg) => {
        let r: PubSubValidation<T>
        try {
          r = validate(from, msg.data)
        } catch {
          return TopicValidatorResult.Ignore
        }
        if (r.verdict === 'accept' && r.value !== undefined) accepted.set(msg, r.value)
        return toTopicValidatorResult(r.verdict)
      })
      gs.subscribe(topic)
    },
    unsubscribe (topic) {
      gs.unsubscribe(topic)
      gs.topicValidators.delete(topic)
    },
    async publish (topic, data) {
      const r = await gs.publish(topic, data)
      return { recipients: r.recipients.length }
    },
    onMessage (handler) {
      handlers.add(handler)
      return () => { handlers.delete(handler) }
    },
    score (peer) {
      return internals.getScore?.(peer.toString()) ?? 0
    },
    subscribers (topic) {
      // a peer's subscription arrives on its own stream, before this node's stream to it is open;
      // a publish in that gap reaches nobody and the message is lost, so such a peer does not count
      const out = internals.streamsOutbound
      const subs = gs.getSubscribers(topic)
      return out == null ? subs : subs.filter((p) => out.has(p.toString()))
    },
    meshPeers (topic) {
      return internals.getMeshPeers?.(topic) ?? []
    }
  }
}
