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
  /** the provider already holds its maximum of reservations for open bids of this order's tenant */
  TENANT_RESERVATIONS: 'ERR_TENANT_RESERVATIONS',
  /** this order's tenant already has its maximum of orders waiting for the pricing script */
  TENANT_PRICING_LIMIT: 'ERR_TENANT_PRICING_LIMIT',
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
/**
 * reservations held at once for open bids on one tenant's orders: a tenant flooding orders takes
 * at most this many of the DEFAULT_MAX_CONCURRENT_RESERVATIONS slots, so other tenants still get bids
 */
export const DEFAULT_MAX_RESERVATIONS_PER_TENANT = 8
/** decisions kept in memory when no store is given */
export const DEFAULT_MAX_DECISIONS = 10_000

// pricing script defaults
export const DEFAULT_SCRIPT_TIMEOUT_MS = 5_000
export const DEFAULT_SCRIPT_CONCURRENCY = 2
export const DEFAULT_SCRIPT_MAX_QUEUE = 256
/** orders of one tenant running or waiting for the pricing script at once */
export const DEFAULT_SCRIPT_MAX_PER_TENANT = 4
export const DEFAULT_SCRIPT_MAX_OUTPUT_BYTES = 64 * 1024
/** stderr kept for the failure message */
export const SCRIPT_STDERR_EXCERPT_BYTES = 1024


// What a node keeps about the market from gossip (node/lease-book): each bound caps what
// strangers can add; when one refuses something it is counted in souk_bound_hits_total{bound}.
/** orders held at most (oldest forgotten first) */
export const BOOK_MAX_ORDERS = 50_000
/**
 * open orders (no lease or expiry yet) of one signer held at once (its own orders are exempt on a
 * tenant's node); an order with its outcome is kept for its retention without counting
 */
export const BOOK_MAX_ORDERS_PER_TENANT = 64
/** an order (and its bids) is forgotten this long after its bid deadline; leases and expiries are kept apart */
export const BOOK_ORDER_RETENTION_MS = 10 * 60_000
/** bids held per order */
export const BOOK_MAX_BIDS_PER_ORDER = 1_000
/** bids held per order and provider (a provider bids once; a few re-bids are allowed) */
export const BOOK_MAX_BIDS_PER_PROVIDER = 4
/** bytes of bid envelopes held over all orders */
export const BOOK_MAX_BID_BYTES = 64 * 1024 * 1024
/** bids for orders not seen yet (gossip gives no order between topics), held briefly */
export const BOOK_MAX_PENDING_BIDS = 1_000
/** bytes of those bids */
export const BOOK_MAX_PENDING_BID_BYTES = 4 * 1024 * 1024
/** how long a bid waits for its order, ms */
export const BOOK_PENDING_BID_TTL_MS = 30_000
/** certified leases held (closed ones forgotten first) */
export const BOOK_MAX_LEASES = 100_000
/** expired orders held */
export const BOOK_MAX_EXPIRIES = 100_000
/** orders with validators' expiry statements still short of f+1 */
export const BOOK_MAX_EXPIRY_VOTES = 10_000

/** the domain tag and version that start every auditor attestation */
export const ATTESTATION_TYPE = 'souk/provider-attestation'
export const ATTESTATION_VERSION = 1

/** Metric names the market counts. */
export const MarketMetricName = {
  /** labels: outcome (bid | declined), code (first reason, or "") */
  DECISIONS: 'souk_market_decisions_total',
  /** labels: reason (lost | expired | closed | stopped; stopped also covers a bid that could not be sent) */
  RESERVATION_RELEASES: 'souk_market_reservation_releases_total',
  /** labels: bound (which limit on what strangers may add refused something) */
  BOUND_HIT: 'souk_bound_hits_total'
} as const

/** lifecycle entries kept per lease at a provider */
export const DEFAULT_MAX_HISTORY_ENTRIES = 500
/** of those, the first ones (won, manifest, first start) always kept */
export const DEFAULT_HISTORY_KEEP_FIRST = 20
