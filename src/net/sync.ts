// /souk/sync/1.0.0 — a joining node asks a peer for the open orders it missed. The answer is
// the order envelopes as signed; the joiner validates each exactly like gossip (same validator,
// same replay window), so a peer cannot slip in anything gossip would have refused.
import type { Libp2p, PeerId, Stream, Connection } from '@libp2p/interface'
import { schema, WireError } from '../wire/index.ts'
import { FRAME_VERSION, FrameTag, MAX_INBOUND_STREAMS, MAX_SYNC_FRAME_BYTES, MAX_SYNC_ORDERS, Protocol, REQUEST_TIMEOUT_MS, SYNC_TIMEOUT_MS, Topic } from './constants.ts'
import { NetError, NetErrorCode } from './errors.ts'
import { FrameStream, frameOf, withTimeout } from './frames.ts'
import { Verdict } from './verdict.ts'
import type { SoukGossip } from './gossip.ts'
import { MetricName } from './metrics.ts'
import type { NetMetrics } from './metrics.ts'

/** The application's open orders, as envelope bytes; called once per sync request. */
export type OpenOrdersSource = () => Iterable<Uint8Array> | AsyncIterable<Uint8Array>

export interface SyncHandlerInit {
  openOrders: OpenOrdersSource
  timeoutMs?: number
  maxOrders?: number
  maxInboundStreams?: number
  metrics?: NetMetrics
}

/** Registers the serving side. Returns a function that unregisters it. */
export async function handleSync (libp2p: Libp2p, init: SyncHandlerInit): Promise<() => Promise<void>> {
  const counter = init.metrics?.counter(MetricName.STREAM_REQUESTS, 'stream requests by protocol and result')
  const handler = async (stream: Stream, _connection: Connection): Promise<void> => {
    const fs = new FrameStream(stream, { maxFrameBytes: 1024, maxFrames: 1, signal: withTimeout(REQUEST_TIMEOUT_MS) })
    try {
      const req = frameOf(await fs.readRequired('sync request'), FrameTag.SYNC_REQUEST, ['topic'], ['limit'])
      fs.expectNoMore()
      let topic: string
      let limit: number
      try {
        topic = schema.str(req.topic, 'frame.topic', 64)
        limit = req.limit === undefined ? MAX_SYNC_ORDERS : schema.uint(req.limit, 'frame.limit', MAX_SYNC_ORDERS)
      } catch (err: any) {
        if (err instanceof WireError) throw new NetError(NetErrorCode.MALFORMED_FRAME, err.message)
        throw err
      }
      fs.setSignal(withTimeout(init.timeoutMs ?? SYNC_TIMEOUT_MS))
      let count = 0
      if (topic === Topic.ORDERS) {
        const max = Math.min(limit, init.maxOrders ?? MAX_SYNC_ORDERS)
        for await (const envelope of init.openOrders()) {
          if (count >= max) break
          if (envelope.length > MAX_SYNC_FRAME_BYTES - 64) continue
          await fs.write({ t: FrameTag.SYNC_RESPONSE, v: FRAME_VERSION, envelope })
          count++
        }
      }
      // other topics: nothing to offer (yet), an empty answer
      await fs.write({ t: FrameTag.SYNC_END, v: FRAME_VERSION, count })
      await fs.close()
      counter?.inc({ protocol: Protocol.SYNC, result: 'ok' })
    } catch (err: any) {
      counter?.inc({ protocol: Protocol.SYNC, result: 'error' })
      fs.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }
  await libp2p.handle(Protocol.SYNC, handler, { maxInboundStreams: init.maxInboundStreams ?? 2, runOnLimitedConnection: true })
  return async () => { await libp2p.unhandle(Protocol.SYNC) }
}

export interface SyncResult {
  received: number
  accepted: number
  ignored: number
  rejected: number
}

export interface SyncOptions {
  signal?: AbortSignal
  timeoutMs?: number
  limit?: number
  /** stop and drop the peer's answer after this many rejected envelopes */
  maxRejected?: number
}

/**
 * Pulls open orders from `peer`. Each envelope goes through the gossip validator (rate limits
 * off: a sync is a burst by nature) and, when accepted, to the gossip handlers of the orders
 * topic, exactly as if it had arrived by gossip.
 */
export async function syncOrders (libp2p: Libp2p, gossip: SoukGossip, peer: PeerId, opts: SyncOptions = {}): Promise<SyncResult> {
  const signal = withTimeout(opts.timeoutMs ?? SYNC_TIMEOUT_MS, opts.signal)
  const stream = await libp2p.dialProtocol(peer, Protocol.SYNC, { signal, runOnLimitedConnection: true })
  const max = Math.min(opts.limit ?? MAX_SYNC_ORDERS, MAX_SYNC_ORDERS)
  const fs = new FrameStream(stream, { maxFrameBytes: MAX_SYNC_FRAME_BYTES, maxFrames: max + 1, signal })
  const result: SyncResult = { received: 0, accepted: 0, ignored: 0, rejected: 0 }
  try {
    await fs.write({ t: FrameTag.SYNC_REQUEST, v: FRAME_VERSION, topic: Topic.ORDERS, limit: max })
    await fs.close()
    for (;;) {
      const v = await fs.readRequired('sync end frame')
      const t = (v as { t?: unknown })?.t
      if (t === FrameTag.SYNC_END) {
        frameOf(v, FrameTag.SYNC_END, ['count'])
        return result
      }
      const f = frameOf(v, FrameTag.SYNC_RESPONSE, ['envelope'])
      if (!(f.envelope instanceof Uint8Array)) throw new NetError(NetErrorCode.MALFORMED_FRAME, 'frame.envelope: must be bytes')
      result.received++
      const r = gossip.ingest(Topic.ORDERS, peer, f.envelope, { rateLimit: false })
      if (r.verdict === Verdict.ACCEPT) result.accepted++
      else if (r.verdict === Verdict.REJECT) result.rejected++
      else result.ignored++
      if (result.rejected > (opts.maxRejected ?? 16)) throw new NetError(NetErrorCode.REFUSED, `peer ${peer.toString()} sent ${result.rejected} invalid orders`)
    }
  } catch (err: any) {
    fs.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}
