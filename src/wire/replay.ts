import { WireError, WireErrorCode } from './errors.ts'
import { MAX_CLOCK_SKEW_MS, MAX_MESSAGE_AGE_MS, REPLAY_WINDOW_CAPACITY } from './constants.ts'

export interface ReplayWindowInit {
  maxAgeMs?: number
  maxSkewMs?: number
  capacity?: number
}

/**
 * Remembers the IDs of recently accepted messages. A message is fresh when its creation time lies
 * within [now - maxAge, now + maxSkew] and no later than what the window can still remember:
 * once full, the window forgets its oldest entries and raises its floor past them, so a replay of
 * a forgotten message is refused as stale instead of slipping through.
 */
export class ReplayWindow {
  private readonly seen = new Map<string, number>()
  private readonly maxAgeMs: number
  private readonly maxSkewMs: number
  private readonly capacity: number
  private floor = 0

  constructor (init: ReplayWindowInit = {}) {
    this.maxAgeMs = init.maxAgeMs ?? MAX_MESSAGE_AGE_MS
    this.maxSkewMs = init.maxSkewMs ?? MAX_CLOCK_SKEW_MS
    this.capacity = init.capacity ?? REPLAY_WINDOW_CAPACITY
  }

  get size (): number { return this.seen.size }

  /** Throws STALE, FUTURE or REPLAY; does not record. */
  check (id: string, createdAt: number, now: number): void {
    if (createdAt > now + this.maxSkewMs) {
      throw new WireError(WireErrorCode.FUTURE, `created ${createdAt - now} ms in the future; allowed clock skew is ${this.maxSkewMs} ms`)
    }
    if (createdAt < now - this.maxAgeMs) {
      throw new WireError(WireErrorCode.STALE, `created ${now - createdAt} ms ago; messages older than ${this.maxAgeMs} ms are refused`)
    }
    if (createdAt < this.floor) {
      throw new WireError(WireErrorCode.STALE, 'older than anything the replay window still remembers')
    }
    if (this.seen.has(id)) throw new WireError(WireErrorCode.REPLAY, 'already seen (replayed or duplicated message)')
  }

  /** Records an accepted message. */
  add (id: string, createdAt: number, now: number): void {
    this.prune(now)
    this.seen.set(id, createdAt)
    while (this.seen.size > this.capacity) {
      // Map keeps insertion order, which is close to creation order; the floor covers the rest
      const [oldId, oldAt] = this.seen.entries().next().value as [string, number]
      this.seen.delete(oldId)
      if (oldAt >= this.floor) this.floor = oldAt + 1
    }
  }

  /** check + add */
  accept (id: string, createdAt: number, now: number): void {
    this.check(id, createdAt, now)
    this.add(id, createdAt, now)
  }

  private prune (now: number): void {
    const limit = now - this.maxAgeMs
    for (const [id, at] of this.seen) {
      if (at >= limit) break
      this.seen.delete(id)
    }
  }
}
