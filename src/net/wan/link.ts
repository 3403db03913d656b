// One direction of an emulated WAN path. Given the size of a chunk of bytes and when it was
// written, the link says when the far end receives it: the chunk waits for the bytes before it to
// leave (bandwidth cap), travels the one-way delay with jitter, and, when one of its segments is
// lost, waits a retransmission timeout more. Delivery times never go backwards: TCP hands bytes
// over in order, so a late chunk holds back the ones behind it (head-of-line blocking).
import { MAX_RETRANSMISSIONS, SEGMENT_BYTES } from './constants.ts'
import { checkLinkParams } from './profiles.ts'
import type { LinkParams } from './profiles.ts'
import { hashSeed, seededRandom } from './rng.ts'

export interface LinkStats {
  bytes: number
  chunks: number
  segments: number
  /** segments drawn as lost (each retransmission that is lost again counts once more) */
  lostSegments: number
  /** ms added by retransmission timeouts over all chunks */
  retransmitMs: number
}

export class WanLink {
  readonly params: LinkParams
  readonly stats: LinkStats = { bytes: 0, chunks: 0, segments: 0, lostSegments: 0, retransmitMs: 0 }
  private readonly random: () => number
  /** when the sender's side of the path is free again (bandwidth cap) */
  private busyUntil = 0
  private lastDelivery = 0

  constructor (params: LinkParams, seed: number | string = 0) {
    this.params = checkLinkParams(params)
    this.random = seededRandom(typeof seed === 'number' ? seed >>> 0 : hashSeed(seed))
  }

  /** Time (ms, same clock as `now`) at which the far end receives `bytes` written at `now`. */
  schedule (bytes: number, now: number): number {
    const p = this.params
    const segments = Math.max(1, Math.ceil(bytes / SEGMENT_BYTES))
    const start = Math.max(now, this.busyUntil)
    const serialisation = p.bandwidthBps > 0 ? (bytes * 8 * 1000) / p.bandwidthBps : 0
    this.busyUntil = start + serialisation
    const jitter = p.jitterMs > 0 ? (2 * this.random() - 1) * p.jitterMs : 0
    let at = this.busyUntil + Math.max(0, p.delayMs + jitter)
    const penalty = this.lossPenalty(segments)
    at += penalty
    at = Math.max(at, this.lastDelivery)
    this.lastDelivery = at
    this.stats.bytes += bytes
    this.stats.chunks++
    this.stats.segments += segments
    this.stats.retransmitMs += penalty
    return at
  }

  /**
   * The chunk is late by the longest recovery among its segments. Whether any of n segments is
   * lost is one draw (1 − (1 − p)^n), so a large chunk costs one random number, not n.
   */
  private lossPenalty (segments: number): number {
    const p = this.params
    if (p.loss <= 0) return 0
    const anyLost = 1 - Math.pow(1 - p.loss, segments)
    if (this.random() >= anyLost) return 0
    // the lost segment is resent after one RTO; a lost resend waits twice as long again
    let penalty = p.rtoMs
    let rto = p.rtoMs
    this.stats.lostSegments++
    for (let i = 1; i < MAX_RETRANSMISSIONS && this.random() < p.loss; i++) {
      rto *= 2
      penalty += rto
      this.stats.lostSegments++
    }
    return penalty
  }
}
