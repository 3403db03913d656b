// Time, injected: the engine's expiry timers run on whatever clock it is given, so a test or a
// simulator can move time by hand.

export interface Timer { cancel: () => void }

export interface Clock {
  /** ms since the Unix epoch */
  now: () => number
  /** runs `fn` once, `ms` from now */
  schedule: (ms: number, fn: () => void) => Timer
}

/** The machine's clock. Timers do not keep the process alive. */
export function systemClock (): Clock {
  return {
    now: () => Date.now(),
    schedule (ms, fn) {
      const t = setTimeout(fn, Math.max(0, ms))
      t.unref()
      return { cancel: () => { clearTimeout(t) } }
    }
  }
}

/** A clock that moves only when told to; due timers fire in time order during `advance`. */
export interface ManualClock extends Clock {
  advance: (ms: number) => void
  /** timers not yet fired */
  pending: () => number
}

export function manualClock (start = 0): ManualClock {
  let now = start
  let seq = 0
  const timers = new Map<number, { at: number, fn: () => void }>()
  return {
    now: () => now,
    schedule (ms, fn) {
      const id = seq++
      timers.set(id, { at: now + Math.max(0, ms), fn })
      return { cancel: () => { timers.delete(id) } }
    },
    advance (ms) {
      const until = now + ms
      // bounded: each pass fires one timer, and timers scheduled in the past fire at once
      for (let guard = 0; guard < 1_000_000; guard++) {
        let next: [number, { at: number, fn: () => void }] | undefined
        for (const e of timers) if (e[1].at <= until && (next == null || e[1].at < next[1].at)) next = e
        if (next == null) break
        timers.delete(next[0])
        now = Math.max(now, next[1].at)
        next[1].fn()
      }
      now = until
    },
    pending: () => timers.size
  }
}
