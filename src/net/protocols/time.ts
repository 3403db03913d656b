// /souk/time/1.0.0 — a peer's wall clock, so an operator learns that this node's clock is off
// before messages start being refused as from the future (protocols/time.md). The asker sends
// nothing; the answer is one frame { t: 'souk/time', v: 1, now: ms since the epoch }.
import type { Libp2p, PeerId } from '@libp2p/interface'
import { schema } from '../../wire/index.ts'
import { FRAME_VERSION, FrameTag, MAX_TIME_FRAME_BYTES, Protocol, REQUEST_TIMEOUT_MS, TIME_REQUEST_LIMIT } from '../constants.ts'
import type { NetMetrics } from '../metrics.ts'
import { checkFrame, frameOf } from '../frames.ts'
import { defineProtocol } from './define-protocol.ts'
import type { ProtocolComponents, ProtocolLogger, StreamProtocol } from './define-protocol.ts'

/** Dates up to the year 2255: anything larger is not a clock */
const MAX_TIME_MS = 2 ** 43

export interface ClockOffset {
  /** the peer's clock minus this node's, ms, at the middle of the exchange */
  offsetMs: number
  /** the exchange's round trip, ms: the offset is known to ± half of it */
  rttMs: number
}

export interface TimeInit {
  now?: () => number
}

export const timeDefinition = defineProtocol({
  name: 'time',
  ids: [Protocol.TIME],
  maxInboundStreams: 2,
  runOnLimitedConnection: true,
  maxFrameBytes: MAX_TIME_FRAME_BYTES,
  maxFrames: 0,
  timeoutMs: REQUEST_TIMEOUT_MS,
  dialTimeoutMs: REQUEST_TIMEOUT_MS,
  rateLimit: { ...TIME_REQUEST_LIMIT, bound: 'time-requests-per-peer' }
})

export function decodeTimeFrame (v: unknown): number {
  const f = frameOf(v, FrameTag.TIME, ['now'])
  return checkFrame(() => schema.uint(f.now, 'frame.now', MAX_TIME_MS))
}

/** The serving side as a service. */
export function timeProtocol (init: TimeInit = {}): (components: ProtocolComponents) => StreamProtocol {
  const now = init.now ?? Date.now
  return (components) => timeDefinition.serve(components, async ({ frames }) => {
    frames.expectNoMore()
    await frames.write({ t: FrameTag.TIME, v: FRAME_VERSION, now: now() })
    await frames.close()
    return undefined
  })
}

/** Registers the serving side. Returns a function that unregisters it. */
export async function handleTime (libp2p: Libp2p, init: TimeInit & { metrics?: NetMetrics, logger?: ProtocolLogger } = {}): Promise<() => Promise<void>> {
  const service = timeProtocol(init)({ libp2p, metrics: init.metrics, logger: init.logger })
  await service.start()
  return service.stop
}

/** Asks `peer` for its clock. Throws a NetError when it does not answer in time or answers nonsense. */
export async function peerClockOffset (libp2p: Libp2p, peer: PeerId, opts: { signal?: AbortSignal, timeoutMs?: number } = {}): Promise<ClockOffset> {
  const sent = Date.now()
  const { frames } = await timeDefinition.dial(libp2p, peer, { signal: opts.signal, timeoutMs: opts.timeoutMs, maxFrames: 1 })
  try {
    await frames.close()
    const remote = decodeTimeFrame(await frames.readRequired('time'))
    const received = Date.now()
    return { offsetMs: remote - (sent + received) / 2, rttMs: received - sent }
  } catch (err) {
    frames.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}
