/**
 * Connections the metrics listener holds at once. A Prometheus server needs one or two; an
 * operator who opens api.metricsHost to a network must not let anyone there hold a socket and a
 * file descriptor of the node each. Past it a connection is dropped at once (counted in
 * souk_metrics_connections_dropped_total).
 */
export const MAX_METRICS_CONNECTIONS = 32
/** a scrape's request line and headers arrive within this, or the connection is closed, ms */
export const METRICS_HEADERS_TIMEOUT_MS = 10_000
