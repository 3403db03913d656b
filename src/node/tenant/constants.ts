/**
 * While a deployment comes up or rolls out, its status is asked again on each event the provider
 * streams; without one for this long (a lost stream, a provider that streams none) it is asked anyway
 */
export const STATUS_FALLBACK_MS = 1_000
/** at most one status request this often, however fast a provider streams events */
export const STATUS_MIN_GAP_MS = 50
/** how long services may take to run after the manifest is accepted, unless the caller says */
export const DEFAULT_RUN_TIMEOUT_MS = 120_000
/** a Close sent by the user's request gives up after this long (the gossiped one still goes) */
export const CLOSE_SEND_TIMEOUT_MS = 30_000
/** the provider's last answer is saved at most this often */
export const SEEN_SAVE_INTERVAL_MS = 5_000
/** peers asked for the outcomes decided while the node was away */
export const CATCH_UP_PEERS = 3
/** the store kind (records.ts) of the tenant's deployments */
export const TENANT_RECORD = 'tenant-deployment'
/**
 * A provider hears of a lease from the validators nearest it, which may be later than the tenant
 * heard of it: a first manifest refused with `unknown-lease` is sent again, after 100 ms and then
 * twice as long each time (at most MANIFEST_RETRY_MAX_GAP_MS), for this long (manifest spec §5)
 */
export const MANIFEST_UNKNOWN_LEASE_RETRY_MS = 10_000
export const MANIFEST_RETRY_FIRST_GAP_MS = 100
export const MANIFEST_RETRY_MAX_GAP_MS = 1_000
