// /souk/time/1.0.0 — a peer's wall clock, so an operator learns that this node's clock is off
// before messages start being refused as from the future (protocols/time.md). The asker sends
// nothing; the answer is one frame { t: 'souk/time', v: 1, now: ms since the epoch }.
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { schema } from '../wire/index.ts'
import { FRAME_VERSION, FrameTag, MAX_TIME_FRAME_BYTES, Protocol, REQUEST_TIMEOUT_MS, TIME_REQUEST_LIMIT } from './constants.ts'
import { MetricName } from './metrics.ts'
import type { NetMetrics } from './metrics.ts'
import { NetError, NetErrorCode } from './errors.ts'
import { checkFrame, FrameStream, frameOf, withTimeout } from './frames.ts'
import { TokenBuckets } from './rate-limit.ts'

/** Dates up to the year 2255: anything larger is not a clock */
const MAX_TIME_MS = 2 ** 43

export interface ClockOffset {
  /** the peer's clock minus this node's, ms, at the middle of the exchange */
  offsetMs: number
  /** the exchange's round trip, ms: the offset is known to ± half of it */
  rttMs: number
}

export function decodeTimeFrame (v: unknown): number {
  const f = frameOf(v, FrameTag.TIME, ['now'])
  return checkFrame(() => schema.uint(f.now, 'frame.now', MAX_TIME_MS))
}

export async function handleTime (libp2p: Libp2p, init: { now?: () => number, metrics?: NetMetrics } = {}): Promise<() => Promise<void>> {
  const now = init.now ?? Date.now
  const bounds = init.metrics?.counter(MetricName.BOUND_HIT, 'times a bound on what strangers may add refused something, by bound')
  const requests = new TokenBuckets({ ...TIME_REQUEST_LIMIT, maxKeys: 4096 })
  await libp2p.handle(Protocol.TIME, async (stream: Stream, connection) => {
    const fs = new FrameStream(stream, { maxFrameBytes: MAX_TIME_FRAME_BYTES, maxFrames: 0, signal: withTimeout(REQUEST_TIMEOUT_MS) })
    try {
      if (!requests.take(connection.remotePeer.toString(), Date.now())) {
        bounds?.inc({ bound: 'time-requests-per-peer' })
        throw new NetError(NetErrorCode.REFUSED, 'too many time requests from this peer')
      }
      fs.expectNoMore()
      await fs.write({ t: FrameTag.TIME, v: FRAME_VERSION, now: now() })
      await fs.close()
    } catch (err) {
      fs.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }, { maxInboundStreams: 2, runOnLimitedConnection: true })
  return async () => { await libp2p.unhandle(Protocol.TIME) }
}

/** Asks `peer` for its clock. Throws a NetError when it does not answer in time or answers nonsense. */
export async function peerClockOffset (libp2p: Libp2p, peer: PeerId, opts: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<ClockOffset> {
  const signal = withTimeout(opts.timeoutMs ?? REQUEST_TIMEOUT_MS, opts.signal)
  const sent = Date.now()
  const stream = await libp2p.dialProtocol(peer, Protocol.TIME, { signal, runOnLimitedConnection: true })
  const fs = new FrameStream(stream, { maxFrameBytes: MAX_TIME_FRAME_BYTES, maxFrames: 1, signal })
  try {
    await fs.close()
    const remote = decodeTimeFrame(await fs.readRequired('time'))
    const received = Date.now()
    return { offsetMs: remote - (sent + received) / 2, rttMs: received - sent }
  } catch (err) {
    fs.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}
