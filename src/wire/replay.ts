import { WireError, WireErrorCode } from './errors.ts'
import { MAX_CLOCK_SKEW_MS, MAX_MESSAGE_AGE_MS, REPLAY_MIN_RETENTION_MS, REPLAY_WINDOW_CAPACITY } from './constants.ts'

export interface ReplayWindowInit {
  maxAgeMs?: number
  maxSkewMs?: number
  capacity?: number
  /** IDs created less than this long ago are never forgotten to make room (see REPLAY_MIN_RETENTION_MS) */
  minRetentionMs?: number
}

/**
 * Remembers the IDs of recently accepted messages. A message is fresh when its creation time lies
 * within [now - maxAge, now + maxSkew] and is not below the window's floor.
 *
 * IDs are forgotten oldest creation time first (a heap, not arrival order): once they are older
 * than maxAge, or, when the window is full, to make room. Forgetting one raises the floor just past
 * its creation time, so a replay of a forgotten message is refused as stale instead of slipping
 * through. The floor never passes now - minRetention: when the window is full of IDs younger than
 * that (someone is sending more than it holds, or messages dated ahead of the clock), a new
 * message is refused with WINDOW_FULL and nothing is forgotten. So a flood can cost a topic its
 * new messages for as long as the flood lasts, but never poison the window: once it stops, the
 * window accepts messages created at the present again.
 */
export class ReplayWindow {
  private readonly seen = new Map<string, number>()
  // a binary min-heap of (createdAt, id), parallel arrays
  private readonly heapAt: number[] = []
  private readonly heapId: string[] = []
  private readonly maxAgeMs: number
  private readonly maxSkewMs: number
  private readonly capacity: number
  private readonly minRetentionMs: number
  private floorAt = 0

  constructor (init: ReplayWindowInit = {}) {
    this.maxAgeMs = init.maxAgeMs ?? MAX_MESSAGE_AGE_MS
    this.maxSkewMs = init.maxSkewMs ?? MAX_CLOCK_SKEW_MS
    this.capacity = Math.max(1, init.capacity ?? REPLAY_WINDOW_CAPACITY)
    this.minRetentionMs = init.minRetentionMs ?? REPLAY_MIN_RETENTION_MS
  }

  get size (): number { return this.seen.size }

  /** messages created before this are refused as stale (besides the age limit) */
  get floor (): number { return this.floorAt }

  /** Throws STALE, FUTURE, REPLAY or WINDOW_FULL; does not record. */
  check (id: string, createdAt: number, now: number): void {
    if (createdAt > now + this.maxSkewMs) {
      throw new WireError(WireErrorCode.FUTURE, `created ${createdAt - now} ms in the future; allowed clock skew is ${this.maxSkewMs} ms`)
    }
    if (createdAt < now - this.maxAgeMs) {
      throw new WireError(WireErrorCode.STALE, `created ${now - createdAt} ms ago; messages older than ${this.maxAgeMs} ms are refused`)
    }
    if (createdAt < this.floorAt) {
      throw new WireError(WireErrorCode.STALE, 'older than anything the replay window still remembers')
    }
    if (this.seen.has(id)) throw new WireError(WireErrorCode.REPLAY, 'already seen (replayed or duplicated message)')
    this.prune(now)
    if (this.seen.size >= this.capacity && this.heapAt[0] >= now - this.minRetentionMs) {
      throw new WireError(WireErrorCode.WINDOW_FULL, `the replay window holds ${this.capacity} messages of the last ${this.minRetentionMs} ms or dated ahead; refused until they age`)
    }
  }

  /** Records an accepted message (after check). */
  add (id: string, createdAt: number, now: number): void {
    if (this.seen.has(id)) return
    this.prune(now)
    while (this.seen.size >= this.capacity) {
      // the oldest goes; check() made sure it is old enough to forget
      const at = this.heapAt[0]
      // full of IDs too young to forget (a caller that skipped check): stay within capacity
      if (at >= now - this.minRetentionMs) return
      this.popMin()
      if (at >= this.floorAt) this.floorAt = at + 1
    }
    this.seen.set(id, createdAt)
    this.push(createdAt, id)
  }

  /** check + add */
  accept (id: string, createdAt: number, now: number): void {
    this.check(id, createdAt, now)
    this.add(id, createdAt, now)
  }

  private prune (now: number): void {
    const limit = now - this.maxAgeMs
    // anything created before `limit` is refused by age anyway: forgetting it moves no floor
    while (this.heapAt.length > 0 && this.heapAt[0] < limit) this.popMin()
  }

  private push (at: number, id: string): void {
    const a = this.heapAt
    const ids = this.heapId
    let i = a.length
    a.push(at); ids.push(id)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (a[parent] <= at) break
      a[i] = a[parent]; ids[i] = ids[parent]
      i = parent
    }
    a[i] = at; ids[i] = id
  }

  private popMin (): void {
    const a = this.heapAt
    const ids = this.heapId
    this.seen.delete(ids[0])
    const lastAt = a.pop() as number
    const lastId = ids.pop() as string
    const n = a.length
    if (n === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && a[r] < a[l] ? r : l
      if (a[c] >= lastAt) break
      a[i] = a[c]; ids[i] = ids[c]
      i = c
    }
    a[i] = lastAt; ids[i] = lastId
  }
}

export interface ReplayWindowsInit extends Omit<ReplayWindowInit, 'capacity'> {
  /** IDs remembered per name (a gossip topic, say); names not listed get `defaultCapacity` */
  capacity?: Record<string, number>
  defaultCapacity?: number
}

/**
 * One replay window per name (per gossip topic): a flood on one topic fills only that topic's
 * window, and each window's capacity fits its topic's traffic.
 */
export class ReplayWindows {
  private readonly windows = new Map<string, ReplayWindow>()
  private readonly init: ReplayWindowsInit

  constructor (init: ReplayWindowsInit = {}) {
    this.init = init
  }

  for (name: string): ReplayWindow {
    let w = this.windows.get(name)
    if (w == null) {
      w = new ReplayWindow({ ...this.init, capacity: this.init.capacity?.[name] ?? this.init.defaultCapacity ?? REPLAY_WINDOW_CAPACITY })
      this.windows.set(name, w)
    }
    return w
  }

  /** IDs held, over all windows */
  get size (): number {
    let n = 0
    for (const w of this.windows.values()) n += w.size
    return n
  }
}
