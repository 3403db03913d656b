// Names and limits shared by every stream protocol's service.

import { MetricName } from '../metrics.ts'

/** counter of inbound exchanges; labels: protocol (the id), outcome, code (a refusal's or failure's) */
export const EXCHANGES_METRIC = MetricName.STREAM_EXCHANGES

/** how an inbound exchange ended */
export const ExchangeOutcome = {
  /** the handler answered */
  SERVED: 'served',
  /** refused: by the rate limit or authority check (stream reset), or answered with a refusal */
  REFUSED: 'refused',
  /** the stream broke, a frame was bad, or the handler threw */
  FAILED: 'failed',
  /** the exchange deadline passed */
  TIMED_OUT: 'timed-out'
} as const
export type ExchangeOutcome = typeof ExchangeOutcome[keyof typeof ExchangeOutcome]

/** peers a protocol's rate limit remembers at most */
export const RATE_LIMIT_KEYS = 4096

/** a warning about a peer's exchange is logged once per this many ms per protocol, peer and code */
export const WARN_INTERVAL_MS = 10_000
/** (protocol, peer, code) keys the warning throttle remembers */
export const WARN_KEYS = 1024
/** warnings a protocol logs per interval over all peers */
export const WARN_PER_INTERVAL = 20
