/** signed message tags of the committee protocol (registered with the wire registry in messages.ts) */
export const CommitteeTag = {
  PROPOSAL: 'souk/committee/proposal',
  VOTE: 'souk/committee/vote',
  CHANGE: 'souk/committee/change',
  APPROVE: 'souk/committee/approve',
  TALLY: 'souk/committee/tally'
} as const
export type CommitteeTag = typeof CommitteeTag[keyof typeof CommitteeTag]

/** tag of the unsigned frames committee nodes exchange (votes and proposals travel inside them) */
export const FRAME_TAG = 'souk/committee/frame'
export const FRAME_VERSION = 1

/** domain-separation prefixes for the byte strings behind the non-envelope signatures and hashes */
export const Domain = {
  /** finalize (certificate) signature: prefix || chain || u64 epoch || u64 height || header hash */
  FINALIZE: 'souk/committee/finalize/1',
  /** committee file signature: prefix || sha256(file payload) */
  FILE: 'souk/committee/file/1',
  /** batch header body (everything but the lease root), CBOR tag inside the header array */
  HEADER: 'souk/committee/batch',
  /** committee file payload tag */
  FILE_PAYLOAD: 'souk/committee-file'
} as const

/** Merkle hashing prefixes (RFC 6962 style), plus the header step */
export const MERKLE_LEAF = 0x00
export const MERKLE_NODE = 0x01
export const HEADER_NODE = 0x02

export const VoteType = { PREVOTE: 'prevote', PRECOMMIT: 'precommit' } as const
export type VoteType = typeof VoteType[keyof typeof VoteType]

export const ChangeAction = { JOIN: 'join', LEAVE: 'leave' } as const
export type ChangeAction = typeof ChangeAction[keyof typeof ChangeAction]

/** most items (orders, bids, closes, membership messages) one batch carries */
export const MAX_BATCH_ITEMS = 1536
/** most validators in one committee */
export const MAX_VALIDATORS = 128
/** largest round a node follows; a round beyond this is refused as junk */
export const MAX_ROUND = 10_000
/** decided batches sent in one catch-up answer */
export const SYNC_BATCHES = 16
/** message IDs asked for in one request */
export const MAX_WANT = 2048
/**
 * distinct senders of a batch asked for the items it names before asking everyone: at least
 * this many, and f+1 in a committee that tolerates more faults (so one of them is honest)
 */
export const ASKED_SENDERS = 3
/** messages carried in one frame answering a request */
export const MAX_HAVE = 512
/** largest frame a node accepts */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024
/** heights a change waits between reaching its approvals and starting the next epoch */
export const EPOCH_DELAY = 4
/** how far ahead (heights) messages are buffered before they count */
export const FUTURE_HEIGHTS = 2
/** orders one tally covers: the most orders that start closing in one batch */
export const MAX_TALLY_ORDERS = 256
/** bids a tally names per order (the cheapest fitting first) */
export const MAX_TALLY_BIDS = 4
/**
 * Committee time after which a closing order settles with the tallies ordered so far, ms (when
 * more than f validators of its epoch stopped before tallying)
 */
export const CLOSE_TIMEOUT_MS = 60_000
/** a lease open this long (committee time) with no failure counted against it counts as served (§6.2) */
export const SERVED_AFTER_MS = 5 * 60_000
/** a `provider-failed` Close counts against the provider only when ordered this soon after the lease (§6.2) */
export const PROVIDER_FAILED_WINDOW_MS = 10 * 60_000

/** evidence entries kept */
export const MAX_EVIDENCE = 10_000
/** evidence entries kept per accused validator (so that one cannot crowd out the others) */
export const MAX_EVIDENCE_PER_VALIDATOR = 16

/**
 * Bounds on the state a stranger can add (protocols/committee.md §11). Each has a counter in
 * status().bounds that counts when it bites.
 */
export const Bounds = {
  /** items waiting for a batch */
  POOL_ITEMS: 200_000,
  /** bids waiting for a batch per order */
  POOL_ITEMS_PER_ORDER: 1_024,
  /** items waiting for a batch per signer */
  POOL_ITEMS_PER_SIGNER: 4_096,
  /** bids held for orders this node has not seen (arrived before their order), all together */
  UNKNOWN_ORDER_BIDS: 8_192,
  /** how long such a bid waits for its order, ms (gossip reorders by milliseconds, not seconds) */
  UNKNOWN_ORDER_BID_MS: 5_000,
  /** open orders the ledger keeps; an order beyond it expires at once (`committee-full`) */
  LEDGER_OPEN_ORDERS: 65_536,
  /** open orders per tenant; an order beyond it expires at once (`committee-full`) */
  LEDGER_OPEN_ORDERS_PER_TENANT: 1_024,
  /** bids the ledger keeps per open order; later ones are ignored */
  LEDGER_BIDS_PER_ORDER: 1_024,
  /**
   * the furthest an order's bid deadline may lie after the committee time of its batch, ms: the
   * largest bid window a node accepts (10 min after the order's creation) plus the clock skew an
   * order's creation time may have; an order beyond it expires at once (`deadline-too-far`)
   */
  LEDGER_MAX_BID_WINDOW_MS: 10 * 60_000 + 30_000,
  /** membership changes ordered per epoch; later ones are ignored */
  LEDGER_CHANGES_PER_EPOCH: 64,
  /** frames a non-member peer may send per second (items only), and its burst */
  GUEST_FRAMES_PER_S: 50,
  GUEST_FRAMES_BURST: 200,
  /** peers whose rate is tracked */
  GUEST_PEERS: 1_024,
  /** proposals and votes buffered for the heights ahead, per height */
  FUTURE_MESSAGES_PER_HEIGHT: 4_096
} as const

/** node defaults, ms */
export const Defaults = {
  /** pause after a decision before the next height's round 0 starts: batches form meanwhile */
  batchIntervalMs: 100,
  /** the shortest such pause, taken when an open order's bid deadline has come or is about to */
  minBatchIntervalMs: 40,
  /** the pause when there is nothing to order (no items, open orders or membership changes); an
   * arriving item or a peer's proposal or vote for the height ends it early */
  idleBatchIntervalMs: 5_000,
  proposeTimeoutMs: 300,
  proposeTimeoutDeltaMs: 150,
  voteTimeoutMs: 200,
  voteTimeoutDeltaMs: 100,
  /** the most any timeout grows to */
  maxTimeoutMs: 5_000,
  /** status heartbeat, used for catch-up */
  statusIntervalMs: 1_000,
  /** wait before asking peers for items a proposal names and this node lacks */
  fetchDelayMs: 10
} as const
