// Repeated warnings are logged once per interval per key, and at most a fixed number per interval
// in all; the rest are counted, and the count rides on the next line let through. A peer that
// repeats a bad exchange thousands of times a second then costs the log a few lines a minute,
// while the metrics still count every one.

export interface LogThrottleInit {
  /** one line per key per this many ms */
  intervalMs: number
  /** keys remembered at most; the least recently logged is forgotten first */
  maxKeys: number
  /** lines let through per interval over all keys (many keys at once: many peers, or forged ones) */
  maxPerInterval: number
  now?: () => number
}

export interface LogThrottle {
  /** undefined: do not log this one; a number: log it, with that many like it left unlogged before */
  admit: (key: string) => number | undefined
}

export function logThrottle (init: LogThrottleInit): LogThrottle {
  const now = init.now ?? Date.now
  const keys = new Map<string, { at: number, suppressed: number }>()
  let windowStart = -Infinity
  let inWindow = 0
  let suppressedOverall = 0
  return {
    admit (key) {
      const t = now()
      const seen = keys.get(key)
      if (seen != null && t - seen.at < init.intervalMs) { seen.suppressed++; return undefined }
      if (t - windowStart >= init.intervalMs) { windowStart = t; inWindow = 0 }
      if (inWindow >= init.maxPerInterval) { suppressedOverall++; return undefined }
      inWindow++
      // lines lost to the overall cap are reported once, on the first line after it
      const suppressed = (seen?.suppressed ?? 0) + suppressedOverall
      suppressedOverall = 0
      keys.delete(key)
      keys.set(key, { at: t, suppressed: 0 })
      if (keys.size > init.maxKeys) keys.delete(keys.keys().next().value as string)
      return suppressed
    }
  }
}
