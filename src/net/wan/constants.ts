/** TCP payload bytes per segment on a 1500-byte MTU path (IPv4, timestamps option) */
export const SEGMENT_BYTES = 1448

/**
 * Linux's smallest retransmission timeout. A lost segment reaches the receiver one RTO after it
 * was first due (TCP never loses bytes, it resends them), and the bytes behind it wait with it.
 */
export const MIN_RTO_MS = 200

/** a lost retransmission doubles the timeout (exponential backoff); beyond this many tries the draw stops */
export const MAX_RETRANSMISSIONS = 4

/** bytes a shaped direction holds before it stops reading from its source (back pressure) */
export const QUEUE_HIGH_WATER_BYTES = 1024 * 1024
/** and below which it reads again */
export const QUEUE_LOW_WATER_BYTES = 256 * 1024
