/** how often a deployment's provider is asked for its status while it comes up or rolls out */
export const STATUS_POLL_MS = 100
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
