// Application penalties fed into gossipsub's peer score (appSpecificScore). A peer earns penalty
// points by sustained rate-limit excess; points decay over time, so a peer that calms down
// recovers. Above `throttleAt` points its messages on rate-limited topics are ignored unread.

export interface PenaltyBookInit {
  /** fraction kept per second (0.9 → points halve in about 6.6 s) */
  decayPerSecond?: number
  /** points at which a peer is throttled */
  throttleAt?: number
  /** points a peer can hold at most */
  max?: number
  /** peers remembered at most */
  maxPeers?: number
}

interface Entry { points: number, at: number }

export class PenaltyBook {
  private readonly entries = new Map<string, Entry>()
  private readonly decay: number
  readonly throttleAt: number
  private readonly max: number
  private readonly maxPeers: number

  constructor (init: PenaltyBookInit = {}) {
    this.decay = init.decayPerSecond ?? 0.9
    this.throttleAt = init.throttleAt ?? 5
    this.max = init.max ?? 100
    this.maxPeers = init.maxPeers ?? 10_000
  }

  add (peer: string, points: number, now = Date.now()): void {
    const e = this.current(peer, now)
    if (e == null) {
      if (this.entries.size >= this.maxPeers) {
        const first = this.entries.keys().next()
        if (first.done !== true) this.entries.delete(first.value)
      }
      this.entries.set(peer, { points: Math.min(this.max, points), at: now })
      return
    }
    e.points = Math.min(this.max, e.points + points)
  }

  points (peer: string, now = Date.now()): number {
    return this.current(peer, now)?.points ?? 0
  }

  isThrottled (peer: string, now = Date.now()): boolean {
    return this.points(peer, now) >= this.throttleAt
  }

  private current (peer: string, now: number): Entry | undefined {
    const e = this.entries.get(peer)
    if (e == null) return undefined
    if (now > e.at) {
      e.points *= Math.pow(this.decay, (now - e.at) / 1000)
      e.at = now
      if (e.points < 0.01) { this.entries.delete(peer); return undefined }
    }
    return e
  }
}
