// Names and limits of the souk network. Topic and protocol names carry a version: a change that
// old nodes cannot read gets a new name, never a new meaning under the old one.

/** gossip topics */
export const Topic = {
  ORDERS: '/souk/1/orders',
  BIDS: '/souk/1/bids',
  LEASES: '/souk/1/leases',
  COMMITTEE: '/souk/1/committee'
} as const
export type Topic = typeof Topic[keyof typeof Topic]

/** message tags a committee module registers start with this */
export const COMMITTEE_TAG_PREFIX = 'souk/committee/'

/** stream protocols */
export const Protocol = {
  KAD: '/souk/kad/1.0.0',
  SYNC: '/souk/sync/1.0.0',
  MANIFEST: '/souk/manifest/1.0.0',
  LEASE: '/souk/lease/1.0.0',
  TIME: '/souk/time/1.0.0'
} as const
export type Protocol = typeof Protocol[keyof typeof Protocol]

/** frame type tags on the stream protocols (the `t` field of every frame) */
export const FrameTag = {
  SYNC_REQUEST: 'souk/sync-request',
  SYNC_RESPONSE: 'souk/sync-orders',
  SYNC_END: 'souk/sync-end',
  SYNC_CLOSES_REQUEST: 'souk/sync-closes-request',
  SYNC_CLOSE: 'souk/sync-close',
  MANIFEST_RESULT: 'souk/manifest-result',
  LEASE_REQUEST: 'souk/lease-request',
  LEASE_RESPONSE: 'souk/lease-response',
  TIME: 'souk/time'
} as const

/** frame format version carried in the `v` field of every stream frame */
export const FRAME_VERSION = 1

/** role names advertised in the DHT */
export const Role = {
  PROVIDER: 'provider',
  VALIDATOR: 'validator',
  RELAY: 'relay'
} as const
export type Role = typeof Role[keyof typeof Role]
/** the string whose sha256 is the DHT key of a role: `souk/1/role/<name>` */
export const ROLE_KEY_PREFIX = 'souk/1/role/'

/**
 * Message IDs each topic's replay window holds (protocols/gossip.md §4). Each is well above what
 * the topic carries in MAX_MESSAGE_AGE_MS at the rates its limits allow from honest senders, and
 * small enough that all four, full, stay within about 60 MB.
 */
export const REPLAY_CAPACITY: Readonly<Record<Topic, number>> = {
  [Topic.ORDERS]: 100_000,
  [Topic.BIDS]: 200_000,
  [Topic.LEASES]: 50_000,
  [Topic.COMMITTEE]: 50_000
}

/**
 * Per forwarding peer, over all topics: messages from keys this node has no cached key verdict for.
 * Each such key costs one key check (libsodium's point check, about one signature check); honest
 * traffic repeats its few signers, which stay cached (identity's KEY_CACHE_SIZE).
 */
export const NEW_KEY_LIMIT = { perSecond: 100, burst: 500 } as const

// stream limits
/** largest request or response frame on the lease protocol */
export const MAX_LEASE_FRAME_BYTES = 256 * 1024
/** largest frame on the sync protocol: one order envelope plus framing */
export const MAX_SYNC_FRAME_BYTES = 64 * 1024 + 256
/** open orders a sync response may carry */
export const MAX_SYNC_ORDERS = 1_000
/** leases one closes request may ask about (and Close envelopes its answer may carry) */
export const MAX_SYNC_LEASES = 256
/** largest request frame on the sync protocol: a closes request with MAX_SYNC_LEASES IDs */
export const MAX_SYNC_REQUEST_BYTES = 16 * 1024
/** orders a syncing node takes in per second from one answer (it reads no faster: the stream's flow control holds the rest) */
export const SYNC_INGEST_LIMIT = { perSecond: 200, burst: 200 } as const
/** sync requests one peer may make of this node (each answer costs up to MAX_SYNC_ORDERS frames) */
export const SYNC_REQUEST_LIMIT = { perSecond: 1 / 30, burst: 3 } as const
/**
 * Closes requests per peer: an answer holds at most one Close per lease asked (MAX_SYNC_LEASES),
 * far cheaper than an orders answer, and a provider that restarts asks each validator again;
 * on the orders budget a few restarts in a minute left it deaf to the Closes it missed
 */
export const SYNC_CLOSES_LIMIT = { perSecond: 1 / 5, burst: 6 } as const
/** time requests (/souk/time/1.0.0) one peer may make of this node: a health check asks once in a while */
export const TIME_REQUEST_LIMIT = { perSecond: 0.2, burst: 4 } as const
/** largest frame on the time protocol */
export const MAX_TIME_FRAME_BYTES = 64
/** frames a lease response stream may carry (a followed log ends here at the latest) */
export const MAX_LEASE_FRAMES = 1_000_000
/** log line length carried on the lease protocol */
export const MAX_LOG_LINE_CHARS = 16 * 1024
/** how long a handler waits for the first request frame */
export const REQUEST_TIMEOUT_MS = 10_000
/** whole-stream limit for one-shot exchanges (manifest, status, close) */
export const EXCHANGE_TIMEOUT_MS = 30_000
/** whole-stream limit for a sync exchange */
export const SYNC_TIMEOUT_MS = 30_000
/** a followed stream with nothing to say for this long is closed */
export const FOLLOW_IDLE_TIMEOUT_MS = 10 * 60_000
/** inbound streams per connection and protocol */
export const MAX_INBOUND_STREAMS = 8

// Gossip defaults (protocols/gossip.md, "Mesh parameters"). souk's gossip is many small signed
// messages, and each copy a node receives costs it a decryption, a decode and a duplicate check
// and each it sends an encryption and a write, so the mesh is leaner than gossipsub's defaults:
// fewer mesh copies, IHAVE to two outside peers with the last heartbeat's IDs only, and a node's
// own messages go to its mesh rather than to every peer it knows.
/** gossipsub heartbeat, ms */
export const HEARTBEAT_INTERVAL_MS = 1_000
/** mesh degree and its bounds */
export const MESH_D = 4
export const MESH_D_LO = 3
export const MESH_D_HI = 8
/** peers outside the mesh sent IHAVE each heartbeat (exactly this many: gossip factor 0) */
export const MESH_D_LAZY = 2
export const GOSSIP_FACTOR = 0
/** heartbeats of message IDs an IHAVE carries */
export const MCACHE_GOSSIP = 1
/** own messages to every subscribed peer (true) or to the mesh (false) */
export const FLOOD_PUBLISH = false
/** peers a node keeps connected at least; below this it dials peers it knows */
export const MIN_CONNECTIONS = 4
/** how often the peer keeper checks the connection count, ms */
export const PEER_KEEPER_INTERVAL_MS = 5_000

/** bytes a relayed connection may carry by default: room for a 1 MiB manifest frame and more */
export const RELAY_CIRCUIT_DATA_LIMIT = 16 * 1024 * 1024
/**
 * How long a relay may take to answer a reservation: libp2p's 5 s is a few round trips of a
 * lossy intercontinental link plus a busy relay (the relay keeper tries again after it)
 */
export const RELAY_RESERVATION_TIMEOUT_MS = 20_000
/** how long a dial that failed at a peer's stored addresses may spend asking the DHT for current ones */
export const FIND_PEER_AFTER_FAILED_DIAL_MS = 10_000
/** how long a relayed connection may last by default, ms */
export const RELAY_CIRCUIT_DURATION_MS = 10 * 60_000
