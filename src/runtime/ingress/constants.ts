// Bounds of the provider's HTTP ingress. Strangers reach it, so every wait and size has a limit.

/** request line plus headers, bytes; more gets 431 */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024
/** a client must finish sending its headers within this (slowloris), ms */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000
/** a whole request, body included, ms */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000
/** an idle keep-alive connection is closed after this, ms */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000
/** the upstream must answer (headers) within this, ms */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000
/** connections held at once, all clients together */
export const DEFAULT_MAX_CONNECTIONS = 4096
/** requests and WebSocket pipes forwarded to one lease at once; more get 503, so one lease cannot hold every upstream connection */
export const DEFAULT_MAX_UPSTREAMS_PER_LEASE = 256
/** hostnames one lease may claim through `accept` */
export const MAX_ACCEPT_HOSTS_PER_LEASE = 64
/** a DNS name, RFC 1035 */
export const MAX_HOSTNAME_LENGTH = 253
/** characters of the lease ID in a generated hostname */
export const HOSTNAME_LEASE_CHARS = 16
/** a generated hostname's first label: service name, dash, lease ID prefix; at most 63 characters */
export const MAX_LABEL_LENGTH = 63
/** headers that describe one hop and must not be forwarded (RFC 9110 §7.6.1) */
export const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'] as const
