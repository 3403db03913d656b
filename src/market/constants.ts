// Reason codes the bid engine records when it does not bid, and the defaults it runs with.

/** Why an order got no bid. Every declined decision carries one or more of these. */
export const ReasonCode = {
  /** the order's bid deadline has passed (or passed while pricing) */
  DEADLINE_PASSED: 'ERR_DEADLINE_PASSED',
  /** the bid deadline is further away than this provider holds reservations for */
  DEADLINE_TOO_FAR: 'ERR_DEADLINE_TOO_FAR',
  /** a group requires an attribute the provider does not have with that exact value */
  MISSING_ATTRIBUTE: 'ERR_MISSING_ATTRIBUTE',
  /** a group requires an attestation by an auditor the provider holds none from */
  MISSING_AUDITOR: 'ERR_MISSING_AUDITOR',
  /** a group's maxPrice is in a denom the provider does not price in */
  DENOM_MISMATCH: 'ERR_DENOM_MISMATCH',
  /** the computed price for a group is above its maxPrice */
  PRICE_ABOVE_MAX: 'ERR_PRICE_ABOVE_MAX',
  /** the price table has no price for a resource the order asks for */
  UNPRICED_RESOURCE: 'ERR_UNPRICED_RESOURCE',
  /** the pricing script failed, timed out, or printed something unusable */
  PRICING_SCRIPT: 'ERR_PRICING_SCRIPT',
  /** any other pricing failure */
  PRICING_FAILED: 'ERR_PRICING_FAILED',
  /** the provider already holds its maximum of reservations for open bids */
  TOO_MANY_RESERVATIONS: 'ERR_TOO_MANY_RESERVATIONS',
  // capacity: reservation providers answer with these (or their own ERR_* codes)
  INSUFFICIENT_CPU: 'ERR_INSUFFICIENT_CPU',
  INSUFFICIENT_MEMORY: 'ERR_INSUFFICIENT_MEMORY',
  INSUFFICIENT_STORAGE: 'ERR_INSUFFICIENT_STORAGE',
  INSUFFICIENT_GPU: 'ERR_INSUFFICIENT_GPU',
  /** the reservation provider threw instead of answering */
  RESERVATION_FAILED: 'ERR_RESERVATION_FAILED',
  /** signing or publishing the bid failed; the reservation was released */
  PUBLISH_FAILED: 'ERR_PUBLISH_FAILED',
  /** the engine was stopped or the caller aborted while deciding */
  ABORTED: 'ERR_ABORTED'
} as const
export type ReasonCode = typeof ReasonCode[keyof typeof ReasonCode]

/** how long after the order's bid deadline a bid stands, ms (the committee's time to finalize) */
export const DEFAULT_BID_VALIDITY_MS = 60_000
/** orders whose deadline is further away than this get no bid, ms */
export const DEFAULT_MAX_BID_WINDOW_MS = 10 * 60_000
/** reservations held at once for bids that are still open */
export const DEFAULT_MAX_CONCURRENT_RESERVATIONS = 64
/** decisions kept in memory when no store is given */
export const DEFAULT_MAX_DECISIONS = 10_000

// pricing script defaults
export const DEFAULT_SCRIPT_TIMEOUT_MS = 5_000
export const DEFAULT_SCRIPT_CONCURRENCY = 2
export const DEFAULT_SCRIPT_MAX_QUEUE = 256
export const DEFAULT_SCRIPT_MAX_OUTPUT_BYTES = 64 * 1024
/** stderr kept for the failure message */
export const SCRIPT_STDERR_EXCERPT_BYTES = 1024


/** the domain tag and version that start every auditor attestation */
export const ATTESTATION_TYPE = 'souk/provider-attestation'
export const ATTESTATION_VERSION = 1

/** Metric names the market counts. */
export const MarketMetricName = {
  /** labels: outcome (bid | declined), code (first reason, or "") */
  DECISIONS: 'souk_market_decisions_total',
  /** labels: reason (lost | expired | closed | stopped; stopped also covers a bid that could not be sent) */
  RESERVATION_RELEASES: 'souk_market_reservation_releases_total'
} as const
