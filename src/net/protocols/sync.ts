// /souk/sync/1.0.0 — a joining node asks a peer for the open orders it missed (the orders
// topic), or for the lease certificates and expiry statements of recent orders (the leases topic:
// a tenant back from a restart learns what the committee decided meanwhile). The answer is the
// envelopes as signed; the joiner validates each exactly like gossip (same validator,
// same replay window, the signers' rate limits), so a peer cannot slip in anything gossip would
// have refused, and reads at a bounded rate. A node answers each peer a few times a minute at most.
//
// A node that was away (a provider restarted, a partition healed) also asks for the Closes of
// leases it holds: the answer is the Close envelopes the peer knows for them, as signed, which the
// asker verifies and checks against each lease's parties itself (protocols/gossip.md §7.1).
import type { Libp2p, PeerId } from '@libp2p/interface'
import { schema, WireError, openMessage, MessageTag, toHex } from '../../wire/index.ts'
import type { SignedMessage, CloseBody } from '../../wire/index.ts'
import { FRAME_VERSION, FrameTag, MAX_SYNC_FRAME_BYTES, MAX_SYNC_LEASES, MAX_SYNC_ORDERS, MAX_SYNC_REQUEST_BYTES, Protocol, REQUEST_TIMEOUT_MS, SYNC_CLOSES_LIMIT, SYNC_INGEST_LIMIT, SYNC_REQUEST_LIMIT, SYNC_TIMEOUT_MS, Topic } from '../constants.ts'
import { NetError, NetErrorCode } from '../errors.ts'
import { checkFrame, frameOf, withTimeout } from '../frames.ts'
import { Verdict } from '../verdict.ts'
import type { SoukGossip } from '../gossip.ts'
import { MetricName } from '../metrics.ts'
import type { NetMetrics } from '../metrics.ts'
import { TokenBuckets } from '../rate-limit.ts'
import type { RateLimit } from '../rate-limit.ts'
import { defineProtocol } from './define-protocol.ts'
import { RATE_LIMIT_KEYS } from './constants.ts'
import type { ProtocolComponents, ProtocolLogger, StreamProtocol } from './define-protocol.ts'

/** The application's open orders, as envelope bytes; called once per sync request. */
export type OpenOrdersSource = () => Iterable<Uint8Array> | AsyncIterable<Uint8Array>

/** The Close envelopes this node knows for these leases (order IDs, hex), at most one each. */
export type ClosesSource = (leases: string[]) => Iterable<Uint8Array> | AsyncIterable<Uint8Array>

export interface SyncHandlerInit {
  openOrders: OpenOrdersSource
  /** without it, a closes request is answered with no closes */
  closes?: ClosesSource
  /** envelopes that decided recent orders (certificates, expiry statements), newest first; none when absent */
  outcomes?: OpenOrdersSource
  timeoutMs?: number
  maxOrders?: number
  maxInboundStreams?: number
  /** orders requests one peer may make (SYNC_REQUEST_LIMIT); beyond it the stream is reset unanswered */
  requestLimit?: RateLimit
  /** closes requests one peer may make (SYNC_CLOSES_LIMIT) */
  closesLimit?: RateLimit
  metrics?: NetMetrics
  /** where refusals and failures are logged (default: libp2p's debug logger) */
  logger?: ProtocolLogger
}

export interface SyncRequest { topic: string, limit: number }
export interface ClosesRequest { leases: Uint8Array[] }
export type SyncFrame = { kind: 'order', envelope: Uint8Array } | { kind: 'end', count: number }

/** A decoded sync request frame, or a NetError (MALFORMED_FRAME). */
export function decodeSyncRequest (v: unknown): SyncRequest {
  const req = frameOf(v, FrameTag.SYNC_REQUEST, ['topic'], ['limit'])
  try {
    return {
      topic: schema.str(req.topic, 'frame.topic', 64),
      limit: req.limit === undefined ? MAX_SYNC_ORDERS : schema.uint(req.limit, 'frame.limit', MAX_SYNC_ORDERS)
    }
  } catch (err) {
    if (err instanceof WireError) throw new NetError(NetErrorCode.MALFORMED_FRAME, err.message)
    throw err
  }
}

/** A decoded request frame of either kind (orders or closes), or a NetError (MALFORMED_FRAME). */
export function decodeSyncAsk (v: unknown): { kind: 'orders', req: SyncRequest } | { kind: 'closes', req: ClosesRequest } {
  if ((v as { t?: unknown } | null)?.t !== FrameTag.SYNC_CLOSES_REQUEST) return { kind: 'orders', req: decodeSyncRequest(v) }
  const req = frameOf(v, FrameTag.SYNC_CLOSES_REQUEST, ['leases'])
  return { kind: 'closes', req: { leases: checkFrame(() => schema.arr(req.leases, 'frame.leases', MAX_SYNC_LEASES, (x, p) => schema.bytes(x, p, 32), 1)) } }
}

/** An answer frame of either kind: one envelope under `tag` (not yet checked), or the end with at most `maxCount`. */
function decodeEnvelopeFrame (v: unknown, tag: string, maxCount: number): { envelope: Uint8Array } | { count: number } {
  return checkFrame(() => {
    if ((v as { t?: unknown } | null)?.t === FrameTag.SYNC_END) return { count: schema.uint(frameOf(v, FrameTag.SYNC_END, ['count']).count, 'frame.count', maxCount) }
    return { envelope: schema.bytes(frameOf(v, tag, ['envelope']).envelope, 'frame.envelope', { min: 1, max: MAX_SYNC_FRAME_BYTES }) }
  })
}

/** A decoded closes answer frame (a Close envelope, not yet verified, or the end), or a NetError. */
export function decodeCloseFrame (v: unknown): { kind: 'close', envelope: Uint8Array } | { kind: 'end', count: number } {
  const f = decodeEnvelopeFrame(v, FrameTag.SYNC_CLOSE, MAX_SYNC_LEASES)
  return 'count' in f ? { kind: 'end', count: f.count } : { kind: 'close', envelope: f.envelope }
}

/** A decoded sync answer frame (an order envelope, not yet validated, or the end), or a NetError. */
export function decodeSyncFrame (v: unknown): SyncFrame {
  const f = decodeEnvelopeFrame(v, FrameTag.SYNC_RESPONSE, MAX_SYNC_ORDERS)
  return 'count' in f ? { kind: 'end', count: f.count } : { kind: 'order', envelope: f.envelope }
}

export const syncDefinition = defineProtocol({
  name: 'sync',
  ids: [Protocol.SYNC],
  maxInboundStreams: 2,
  runOnLimitedConnection: true,
  maxFrameBytes: MAX_SYNC_REQUEST_BYTES,
  // the request is small; the answer's frames may each carry a whole envelope
  maxWriteBytes: MAX_SYNC_FRAME_BYTES,
  maxFrames: 1,
  // the request must come quickly; the answer then gets SYNC_TIMEOUT_MS
  timeoutMs: REQUEST_TIMEOUT_MS,
  dialTimeoutMs: SYNC_TIMEOUT_MS
  // requests are rate limited per peer and per kind once read (syncProtocol): an orders answer can
  // be a thousand frames, a closes answer a Close per lease asked
})

/** The serving side as a service. */
export function syncProtocol (init: SyncHandlerInit): (components: ProtocolComponents) => StreamProtocol {
  return (components) => {
    const asks = {
      orders: new TokenBuckets({ ...(init.requestLimit ?? SYNC_REQUEST_LIMIT), maxKeys: RATE_LIMIT_KEYS }),
      closes: new TokenBuckets({ ...(init.closesLimit ?? SYNC_CLOSES_LIMIT), maxKeys: RATE_LIMIT_KEYS })
    }
    const bounds = components.metrics?.counter(MetricName.BOUND_HIT, 'times a bound on what strangers may add refused something, by bound')
    return syncDefinition.serve(components, async ({ frames: fs, remotePeer }) => {
      const ask = decodeSyncAsk(await fs.readRequired('sync request'))
      fs.expectNoMore()
      if (!asks[ask.kind].take(remotePeer.toString(), Date.now())) {
        bounds?.inc({ bound: ask.kind === 'orders' ? 'sync-requests-per-peer' : 'sync-closes-per-peer' })
        throw new NetError(NetErrorCode.REFUSED, `too many sync ${ask.kind} requests from this peer`)
      }
      fs.setSignal(withTimeout(init.timeoutMs ?? SYNC_TIMEOUT_MS))
      /** up to `max` envelopes, each in its own frame; one too large for a frame is left out */
      const writeEnvelopes = async (envelopes: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, max: number, t: typeof FrameTag.SYNC_CLOSE | typeof FrameTag.SYNC_RESPONSE): Promise<number> => {
        let n = 0
        for await (const envelope of envelopes) {
          if (n >= max) break
          if (envelope.length > MAX_SYNC_FRAME_BYTES - 64) continue
          await fs.write({ t, v: FRAME_VERSION, envelope })
          n++
        }
        return n
      }
      let count = 0
      if (ask.kind === 'closes') {
        const asked = [...new Set(ask.req.leases.map((l) => toHex(l)))]
        if (init.closes != null) count = await writeEnvelopes(init.closes(asked), asked.length, FrameTag.SYNC_CLOSE)
        await fs.write({ t: FrameTag.SYNC_END, v: FRAME_VERSION, count })
        await fs.close()
        return undefined
      }
      const { topic, limit } = ask.req
      const source = topic === Topic.ORDERS ? init.openOrders : topic === Topic.LEASES ? init.outcomes : undefined
      if (source != null) {
        const max = Math.min(limit, init.maxOrders ?? MAX_SYNC_ORDERS)
        count = await writeEnvelopes(source(), max, FrameTag.SYNC_RESPONSE)
      }
      // other topics: nothing to offer, an empty answer
      await fs.write({ t: FrameTag.SYNC_END, v: FRAME_VERSION, count })
      await fs.close()
      return undefined
    }, { maxInboundStreams: init.maxInboundStreams })
  }
}

/** Registers the serving side. Returns a function that unregisters it. */
export async function handleSync (libp2p: Libp2p, init: SyncHandlerInit): Promise<() => Promise<void>> {
  const service = syncProtocol(init)({ libp2p, metrics: init.metrics, logger: init.logger })
  await service.start()
  return service.stop
}

export interface SyncResult {
  received: number
  accepted: number
  ignored: number
  rejected: number
}

export interface SyncOptions {
  /** Topic.ORDERS (the default) or Topic.LEASES */
  topic?: string
  signal?: AbortSignal
  timeoutMs?: number
  limit?: number
  /** stop and drop the peer's answer after this many rejected envelopes */
  maxRejected?: number
  /** orders taken in per second (SYNC_INGEST_LIMIT) */
  ingestLimit?: RateLimit
}

/**
 * Pulls open orders (or, with `topic: Topic.LEASES`, recent outcomes) from `peer`. Each envelope goes through the gossip validator (with the
 * signers' rate limits; the per-peer limit gives way to this function's own pace, since a sync is
 * a burst by nature) and, when accepted, to the gossip handlers of the orders topic, exactly as
 * if it had arrived by gossip. Reading stops while the pace is exceeded, so the peer's stream
 * waits on flow control rather than this node's memory.
 */
export async function syncOrders (libp2p: Libp2p, gossip: SoukGossip, peer: PeerId, opts: SyncOptions = {}): Promise<SyncResult> {
  const max = Math.min(opts.limit ?? MAX_SYNC_ORDERS, MAX_SYNC_ORDERS)
  const { frames: fs, signal } = await syncDefinition.dial(libp2p, peer, { signal: opts.signal, timeoutMs: opts.timeoutMs, maxFrameBytes: MAX_SYNC_FRAME_BYTES, maxFrames: max + 1 })
  const result: SyncResult = { received: 0, accepted: 0, ignored: 0, rejected: 0 }
  const pace = opts.ingestLimit ?? SYNC_INGEST_LIMIT
  const bucket = new TokenBuckets({ ...pace, maxKeys: 1 })
  try {
    const topic = opts.topic ?? Topic.ORDERS
    await fs.write({ t: FrameTag.SYNC_REQUEST, v: FRAME_VERSION, topic, limit: max })
    await fs.close()
    for (;;) {
      const f = decodeSyncFrame(await fs.readRequired('sync end frame'))
      if (f.kind === 'end') return result
      result.received++
      while (!bucket.take('sync', Date.now())) {
        await new Promise((resolve) => setTimeout(resolve, Math.ceil(1000 / pace.perSecond)))
        if (signal.aborted) throw new NetError(NetErrorCode.TIMEOUT, 'sync timed out')
      }
      const r = gossip.ingest(topic, peer, f.envelope, { rateLimit: 'signer' })
      if (r.verdict === Verdict.ACCEPT) result.accepted++
      else if (r.verdict === Verdict.REJECT) result.rejected++
      else result.ignored++
      if (result.rejected > (opts.maxRejected ?? 16)) throw new NetError(NetErrorCode.REFUSED, `peer ${peer.toString()} sent ${result.rejected} invalid ${topic === Topic.ORDERS ? 'orders' : 'envelopes'}`)
    }
  } catch (err) {
    fs.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

export interface SyncClosesResult {
  /** Closes that verify, one per lease at most, each for a lease that was asked about */
  closes: Array<SignedMessage<CloseBody>>
  /** envelopes dropped: not a Close, a bad signature, a lease not asked about, or a second one */
  dropped: number
}

/**
 * Asks `peer` for the Closes it knows of these leases (order IDs, at most MAX_SYNC_LEASES). Each
 * envelope is verified (tag and signature) and must name a lease asked about; whether its signer
 * may close that lease (its tenant or provider) is the caller's check, since only the caller
 * knows the lease. A Close has no freshness limit here: it is final, and replaying it only
 * repeats what its signer decided.
 */
export async function syncCloses (libp2p: Libp2p, peer: PeerId, leases: Uint8Array[], opts: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<SyncClosesResult> {
  const asked = new Map<string, Uint8Array>()
  for (const l of leases) if (asked.size < MAX_SYNC_LEASES) asked.set(toHex(l), l)
  const result: SyncClosesResult = { closes: [], dropped: 0 }
  if (asked.size === 0) return result
  const { frames: fs } = await syncDefinition.dial(libp2p, peer, { signal: opts.signal, timeoutMs: opts.timeoutMs, maxFrameBytes: MAX_SYNC_FRAME_BYTES, maxFrames: asked.size + 1 })
  const seen = new Set<string>()
  try {
    await fs.write({ t: FrameTag.SYNC_CLOSES_REQUEST, v: FRAME_VERSION, leases: [...asked.values()] })
    await fs.close()
    for (;;) {
      const f = decodeCloseFrame(await fs.readRequired('sync end frame'))
      if (f.kind === 'end') return result
      let m: SignedMessage<CloseBody>
      try {
        m = openMessage<CloseBody>(f.envelope, { expect: MessageTag.CLOSE })
      } catch (err) {
        if (!(err instanceof WireError)) throw err
        result.dropped++
        continue
      }
      const lease = toHex(m.body.lease)
      if (!asked.has(lease) || seen.has(lease)) { result.dropped++; continue }
      seen.add(lease)
      result.closes.push(m)
    }
  } catch (err) {
    fs.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}
