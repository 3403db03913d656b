/**
 * wire protocol version carried in every payload header. 2: canonical CBOR only (protocols/wire.md
 * §1); a version 1 node's encodings were not always canonical, so its messages are refused as an
 * unsupported version rather than one by one as malformed.
 */
export const WIRE_VERSION = 2

/** largest envelope accepted from the network, in bytes */
export const MAX_ENVELOPE_BYTES = 64 * 1024
/** largest manifest carried in a manifest frame, in bytes */
export const MAX_MANIFEST_BYTES = 1024 * 1024
/** largest manifest frame (the manifest plus its header) */
export const MAX_MANIFEST_FRAME_BYTES = MAX_MANIFEST_BYTES + 2048

export const NONCE_MIN_BYTES = 8
export const NONCE_MAX_BYTES = 32
export const HASH_BYTES = 32
export const MAX_TAG_LENGTH = 64

/** how far a message's creation time may lie in the future (clock skew), ms */
export const MAX_CLOCK_SKEW_MS = 30_000
/** how old a message may be when first received, ms */
export const MAX_MESSAGE_AGE_MS = 10 * 60_000
/** message IDs remembered by a replay window (one window per gossip topic) */
export const REPLAY_WINDOW_CAPACITY = 200_000
/**
 * A replay window never forgets an ID created less than this long ago: when it is full of such
 * IDs it refuses new messages (ERR_WIRE_WINDOW_FULL) instead, so its floor (below which messages
 * are refused as stale) stays at least this far behind the present and cannot be pushed past it
 * by messages dated in the future.
 */
export const REPLAY_MIN_RETENTION_MS = MAX_CLOCK_SKEW_MS
/** nesting of lists and maps a CBOR item may have */
export const MAX_CBOR_DEPTH = 32
/**
 * The longest bid window any node accepts: an order's bidDeadline is at most this long after its
 * createdAt. Orders, their bids and everything a node keeps about them therefore end within
 * MAX_CLOCK_SKEW_MS + MAX_BID_WINDOW_MS of the present.
 */
export const MAX_BID_WINDOW_MS = 10 * 60_000
/** a bid's expiresAt is at most this long after its createdAt */
export const MAX_BID_LIFETIME_MS = 60 * 60_000

// field limits
export const MAX_NAME_LENGTH = 64
export const MAX_ATTRIBUTE_KEY_LENGTH = 128
export const MAX_ATTRIBUTE_VALUE_LENGTH = 256
export const MAX_ATTRIBUTES = 32
export const MAX_AUDITORS = 16
export const MAX_GROUPS = 16
export const MAX_SERVICES_PER_GROUP = 32
export const MAX_STORAGE_VOLUMES = 8
export const MAX_GPU_MODELS = 16
export const MAX_REPLICAS = 1000
export const MAX_DENOM_LENGTH = 128
export const MAX_REASON_LENGTH = 512
/** providers an order's `accept.allow` or `accept.deny` may name */
export const MAX_ACCEPT_PROVIDERS = 64

/**
 * The machine-readable reasons a Close may carry (wire.md §4.3). Only a tenant's Close with one
 * of them counts against its provider's record (committee.md §6.2).
 */
export const CloseCode = {
  /** the provider stopped answering and sending usage while the lease ran */
  PROVIDER_LOST: 'provider-lost',
  /** the provider never took the manifest within its deadline */
  PROVIDER_FAILED: 'provider-failed'
} as const
export type CloseCode = typeof CloseCode[keyof typeof CloseCode]

/**
 * What an order accepts of a provider's record when it says nothing (`accept` absent): a provider
 * with more counted failures than served leases does not fit; no served minimum; no lists.
 */
export const DEFAULT_ACCEPT = { maxFailurePermille: 500, minServed: 0 } as const
export const MAX_PROOF_LENGTH = 64
export const MAX_CERT_SIGNATURES = 256
/** price amounts are decimal strings: up to 30 integer and 18 fraction digits */
export const AMOUNT_PATTERN = /^(0|[1-9][0-9]{0,29})(\.[0-9]{1,18})?$/

/**
 * Prices (SDL pricing, bids, usage) are per price period. It is Akash's nominal block time, so a
 * price written for Akash means about the same here.
 */
export const PRICE_PERIOD_MS = 6_000

/** the message type tags; every payload starts with one, so a signature never crosses kinds */
export const MessageTag = {
  ORDER: 'souk/order',
  BID: 'souk/bid',
  CLOSE: 'souk/close',
  LEASE_CERTIFICATE: 'souk/lease-certificate',
  MANIFEST_FRAME: 'souk/manifest-frame',
  USAGE_STATEMENT: 'souk/usage',
  USAGE_ACK: 'souk/usage-ack',
  MANIFEST_UPDATE: 'souk/manifest-update',
  ORDER_EXPIRED: 'souk/order-expired',
  COMMITTEE_CHAIN: 'souk/committee-chain'
} as const
export type MessageTag = typeof MessageTag[keyof typeof MessageTag]
