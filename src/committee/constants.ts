/** signed message tags of the committee protocol (registered with the wire registry in messages.ts) */
export const CommitteeTag = {
  PROPOSAL: 'souk/committee/proposal',
  VOTE: 'souk/committee/vote',
  CHANGE: 'souk/committee/change',
  APPROVE: 'souk/committee/approve'
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
/** messages carried in one frame answering a request */
export const MAX_HAVE = 512
/** largest frame a node accepts */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024
/** heights a change waits between reaching its approvals and starting the next epoch */
export const EPOCH_DELAY = 4
/** how far ahead (heights) messages are buffered before they count */
export const FUTURE_HEIGHTS = 2
/** evidence entries kept */
export const MAX_EVIDENCE = 10_000

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
