/** one peer is asked for the Closes of the leases held here at most this often by the sweep */
export const CLOSE_SYNC_MIN_INTERVAL_MS = 10_000
/** and at most this often on its connections (a connection made while the start asks is not asked twice) */
export const CLOSE_SYNC_CONNECT_INTERVAL_MS = 2_000
/** how often a running provider asks one validator anyway, for Closes its gossip lost */
export const CLOSE_SYNC_SWEEP_MS = 60_000
/** a reconcile the runtime refused (engine down) is tried again after this long */
export const RECONCILE_RETRY_MS = 5_000
/** engine events of a lease are watched again this long after the watch ended */
export const ENGINE_WATCH_RETRY_MS = 2_000
/** store kinds (records.ts) the provider keeps */
export const RECORD_LEASE = 'provider-lease'
export const RECORD_USAGE = 'provider-usage'
export const RECORD_HISTORY = 'provider-lease-history'
export const RECORD_INGRESS = 'provider-ingress'
