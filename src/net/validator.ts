// The gossip validator: one function per node that every topic shares. For each message it
// checks, cheapest first: throttling and rate limit of the forwarding peer, size, decoding
// (canonical CBOR only), tag allowed on the topic, schema, freshness and replay (the topic's own
// window), the forwarder's budget for keys this node has not checked before, the key rule, the
// signature, then the signer's rate limit (after the signature, so forgeries cannot spend a real
// signer's budget). The answer is a verdict plus, on Accept, the verified SignedMessage, which is
// what the application receives: nothing is verified twice.
import { openMessage, WireError, WireErrorCode, MAX_ENVELOPE_BYTES, MessageTag } from '../wire/index.ts'
import type { ReplayWindows, SignedMessage, BidBody } from '../wire/index.ts'
import { publicKeyOfPeerId, isAcceptablePublicKey, isKnownPublicKey, verify, verifyNoble } from '../identity/index.ts'
import { COMMITTEE_TAG_PREFIX, NEW_KEY_LIMIT, REPLAY_CAPACITY, Topic } from './constants.ts'
import { GossipValidationError } from './errors.ts'
import { GossipErrorCode, Verdict, verdictOf } from './verdict.ts'
import { MetricName } from './metrics.ts'
import { TokenBuckets } from './rate-limit.ts'
import type { RateLimit } from './rate-limit.ts'
import type { NetMetrics, Counter } from './metrics.ts'
import type { PenaltyBook } from './penalties.ts'
import type { PeerId } from '@libp2p/interface'
import { errorMessage } from '../util/index.ts'

/** What a topic carries and how much of it one peer or signer may send. */
export interface TopicPolicy {
  /** message tags accepted on the topic */
  tags?: readonly string[]
  /** tag prefixes accepted on the topic (the tag must also be registered in the wire registry) */
  tagPrefixes?: readonly string[]
  /** per signer key */
  signerLimit?: RateLimit
  /** per forwarding peer */
  peerLimit?: RateLimit
  /** envelope size limit, bytes; at most MAX_ENVELOPE_BYTES */
  maxBytes?: number
  /** message IDs the topic's replay window holds (REPLAY_CAPACITY) */
  replayCapacity?: number
}

export type TopicPolicies = Record<string, TopicPolicy>

export const DEFAULT_TOPIC_POLICIES: TopicPolicies = {
  [Topic.ORDERS]: { tags: [MessageTag.ORDER], signerLimit: { perSecond: 10, burst: 50 }, peerLimit: { perSecond: 300, burst: 600 }, replayCapacity: REPLAY_CAPACITY[Topic.ORDERS] },
  [Topic.BIDS]: { tags: [MessageTag.BID], signerLimit: { perSecond: 200, burst: 400 }, peerLimit: { perSecond: 2000, burst: 4000 }, replayCapacity: REPLAY_CAPACITY[Topic.BIDS] },
  [Topic.LEASES]: { tags: [MessageTag.LEASE_CERTIFICATE, MessageTag.CLOSE, MessageTag.ORDER_EXPIRED, MessageTag.COMMITTEE_CHAIN], peerLimit: { perSecond: 2000, burst: 4000 }, replayCapacity: REPLAY_CAPACITY[Topic.LEASES] },
  // nothing is published here today (consensus runs on the committee's stream protocol); without
  // limits it was the one topic a stranger could flood with validly signed messages at any rate
  [Topic.COMMITTEE]: { tagPrefixes: [COMMITTEE_TAG_PREFIX], signerLimit: { perSecond: 20, burst: 40 }, peerLimit: { perSecond: 100, burst: 200 }, replayCapacity: REPLAY_CAPACITY[Topic.COMMITTEE] }
}

export interface ValidationResult {
  verdict: Verdict
  message?: SignedMessage
  error?: GossipValidationError
}

export interface ValidateOptions {
  /**
   * which rate limits apply: all of them (true, the default); `signer` for bytes that came by sync,
   * which the sync paces itself (no per-peer limit or new-key budget, but every signer's limit); or
   * none (false, for tests and tools that replay known traffic)
   */
  rateLimit?: boolean | 'signer'
}

export interface GossipValidatorInit {
  topics?: TopicPolicies
  /** rate-limit refusals beyond the burst after which the sender earns penalty points */
  sustainedOverflow?: number
  verifier?: 'native' | 'noble'
  /**
   * per forwarding peer, over all topics: messages signed by keys whose rule verdict this node has
   * not cached yet (each costs a key check); beyond it such messages are ignored unchecked
   */
  newKeyLimit?: RateLimit
}

export interface GossipValidatorComponents {
  /** one window per topic */
  replay: ReplayWindows
  penalties: PenaltyBook
  metrics?: NetMetrics
}

export interface GossipValidator {
  readonly topics: readonly string[]
  policy: (topic: string) => TopicPolicy | undefined
  /** validates bytes received on `topic` from `from` (the forwarding peer) */
  validate: (topic: string, from: PeerId | string, data: Uint8Array, now?: number, opts?: ValidateOptions) => ValidationResult
  /** checks a message this node is about to publish: its tag belongs on the topic */
  allows: (topic: string, tag: string) => boolean
  /**
   * Adds a check that runs on decoded messages of `topic` before their signature is checked; a
   * reason it returns makes the verdict Ignore (ERR_GOSSIP_LATE). Returns a remove function.
   */
  addPrecheck: (topic: string, check: Precheck) => () => void
}

/** why a decoded, not yet verified message can no longer matter here; undefined when it can */
export type Precheck = (msg: SignedMessage, now: number) => string | undefined

/** a bid past its own expiry can never win, wherever it goes next */
const expiredBid: Precheck = (msg, now) =>
  msg.tag === MessageTag.BID && (msg.body as BidBody).expiresAt <= now ? 'the bid expired' : undefined

interface TopicState {
  policy: TopicPolicy
  expect?: readonly string[]
  signers?: TokenBuckets
  peers?: TokenBuckets
  maxBytes: number
  prechecks: Precheck[]
}

export function gossipValidator (init: GossipValidatorInit = {}): (components: GossipValidatorComponents) => GossipValidator {
  return (components) => {
    const policies = init.topics ?? DEFAULT_TOPIC_POLICIES
    const sustained = init.sustainedOverflow
    const states = new Map<string, TopicState>()
    for (const [topic, policy] of Object.entries(policies)) {
      const hasPrefixes = (policy.tagPrefixes?.length ?? 0) > 0
      states.set(topic, {
        policy,
        // with prefixes the tag is checked after decoding; with a fixed list openMessage checks it first
        expect: hasPrefixes ? undefined : (policy.tags ?? []),
        signers: policy.signerLimit != null ? new TokenBuckets(policy.signerLimit) : undefined,
        peers: policy.peerLimit != null ? new TokenBuckets(policy.peerLimit) : undefined,
        maxBytes: Math.min(policy.maxBytes ?? MAX_ENVELOPE_BYTES, MAX_ENVELOPE_BYTES),
        // only where bids travel
        prechecks: (policy.tags ?? []).includes(MessageTag.BID) ? [expiredBid] : []
      })
    }
    const counter: Counter | undefined = components.metrics?.counter(MetricName.GOSSIP_VALIDATION, 'gossip messages validated, by topic, verdict and reason')
    const bounds: Counter | undefined = components.metrics?.counter(MetricName.BOUND_HIT, 'times a bound on what strangers may add refused something, by bound')
    const newKeys = new TokenBuckets(init.newKeyLimit ?? NEW_KEY_LIMIT)
    const keyChecks: Counter | undefined = components.metrics?.counter(MetricName.KEY_CHECKS, 'signer keys checked against the key rule for the first time')

    const allows = (topic: string, tag: string): boolean => {
      const s = states.get(topic)
      if (s == null) return false
      if (s.policy.tags?.includes(tag) === true) return true
      return s.policy.tagPrefixes?.some((p) => tag.startsWith(p)) === true
    }

    const refuse = (topic: string, code: string, message: string): ValidationResult => {
      const verdict = verdictOf(code)
      if (code === WireErrorCode.WINDOW_FULL) bounds?.inc({ bound: 'replay-window' })
      counter?.inc({ topic, verdict, code })
      return { verdict, error: new GossipValidationError(topic, verdict, code, message) }
    }

    const validate = (topic: string, from: PeerId | string, data: Uint8Array, now = Date.now(), opts: ValidateOptions = {}): ValidationResult => {
      const s = states.get(topic)
      if (s == null) return refuse(topic, GossipErrorCode.WRONG_TOPIC, 'not a souk topic this node validates')
      const fromStr = typeof from === 'string' ? from : from.toString()
      const peerLimited = opts.rateLimit !== false && opts.rateLimit !== 'signer'
      const limited = peerLimited && (s.signers != null || s.peers != null)
      if (limited && components.penalties.isThrottled(fromStr, now)) {
        return refuse(topic, GossipErrorCode.THROTTLED, `peer ${fromStr} is throttled`)
      }
      // the forwarder's own budget first: it costs nothing to check and needs no decoding
      if (limited && s.peers != null && !s.peers.take(fromStr, now)) {
        if (s.peers.overflowOf(fromStr) >= (sustained ?? s.policy.peerLimit!.burst)) components.penalties.add(fromStr, 1, now)
        return refuse(topic, GossipErrorCode.RATE_LIMITED, `peer ${fromStr} is over ${s.policy.peerLimit!.perSecond}/s on ${topic}`)
      }
      // protocols/wire.md order: shape, tag, version, schema, then freshness and replay, then the
      // signature; the ID is recorded only once everything passed
      const replay = components.replay.for(topic)
      let msg: SignedMessage
      try {
        msg = openMessage(data, { expect: s.expect, trusted: true, maxBytes: s.maxBytes, now })
        if (s.expect == null && !allows(topic, msg.tag)) {
          return refuse(topic, GossipErrorCode.WRONG_TOPIC, `${msg.tag} does not belong on ${topic}`)
        }
        replay.check(msg.idHex, msg.createdAt, now)
        // a key never seen costs a key check: each forwarder gets a budget of those, so a new key
        // per message buys an attacker no more checks than its budget
        if (!isKnownPublicKey(msg.signer)) {
          if (peerLimited && !newKeys.take(fromStr, now)) {
            bounds?.inc({ bound: 'new-keys-per-peer' })
            return refuse(topic, GossipErrorCode.RATE_LIMITED, `peer ${fromStr} is over its budget of ${(init.newKeyLimit ?? NEW_KEY_LIMIT).perSecond}/s messages from keys this node has not seen`)
          }
          keyChecks?.inc()
        }
        if (!isAcceptablePublicKey(msg.signer)) throw new WireError(WireErrorCode.BAD_KEY, 'signer key is not an acceptable ed25519 key (non-canonical, small-order or mixed-order)')
        // cheap checks before the expensive one: under load the signature checks go to messages
        // that can still matter
        for (const check of s.prechecks) {
          const late = check(msg, now)
          if (late != null) return refuse(topic, GossipErrorCode.LATE, late)
        }
        const ok = init.verifier === 'noble' ? verifyNoble(msg.sig, msg.payload, msg.signer) : verify(msg.sig, msg.payload, msg.signer)
        if (!ok) throw new WireError(WireErrorCode.BAD_SIGNATURE, `${msg.tag} signature does not verify`)
      } catch (err) {
        if (err instanceof WireError) return refuse(topic, err.code, err.message)
        return refuse(topic, GossipErrorCode.INTERNAL, errorMessage(err))
      }
      if (opts.rateLimit !== false && s.signers != null) {
        const signerKey = Buffer.from(msg.signer).toString('base64')
        if (!s.signers.take(signerKey, now)) {
          // the forwarder pays only when it is the signer: an honest relay may forward a message
          // its own bucket still allowed
          const fromKey = publicKeyOfPeerId(from)
          if (fromKey != null && Buffer.compare(fromKey, msg.signer) === 0 &&
            s.signers.overflowOf(signerKey) >= (sustained ?? s.policy.signerLimit!.burst)) {
            components.penalties.add(fromStr, 1, now)
          }
          return refuse(topic, GossipErrorCode.RATE_LIMITED, `signer is over ${s.policy.signerLimit!.perSecond}/s on ${topic}`)
        }
      }
      replay.add(msg.idHex, msg.createdAt, now)
      counter?.inc({ topic, verdict: Verdict.ACCEPT, code: 'ok' })
      return { verdict: Verdict.ACCEPT, message: msg }
    }

    return {
      topics: [...states.keys()],
      policy: (topic) => states.get(topic)?.policy,
      validate,
      allows,
      addPrecheck (topic, check) {
        const s = states.get(topic)
        if (s == null) return () => {}
        s.prechecks.push(check)
        return () => { s.prechecks = s.prechecks.filter((c) => c !== check) }
      }
    }
  }
}
