// What happened to each lease at this provider, kept in the provider's store: won, manifest
// received (with its images), replicas created and started, exits with their codes, OOM kills,
// restarts, updates, close. `souk lease events` reads it from the start and follows it.
import { systemClock } from './clock.ts'
import type { Clock } from './clock.ts'
import { DEFAULT_HISTORY_KEEP_FIRST, DEFAULT_MAX_HISTORY_ENTRIES } from './constants.ts'

export interface HistoryEntry {
  /** ms since the Unix epoch */
  time: number
  /** `lease:won`, `manifest:received`, `replica:created`, `replica:started`, `replica:exited`, `replica:oom`, `replica:restarted`, `lease:running`, `lease:updated`, `update:failed`, `lease:closed`, … */
  type: string
  service?: string
  replica?: string
  message?: string
}

/** where entries are kept; the provider's store, or memory in tests */
export interface HistoryStore {
  get: (leaseId: string) => HistoryEntry[] | undefined
  put: (leaseId: string, entries: HistoryEntry[]) => void
}

export interface LeaseHistoryInit {
  /** entries kept per lease; the first few and the latest are kept, the middle is dropped */
  maxEntries?: number
  keepFirst?: number
}

export interface LeaseHistory {
  record: (leaseId: string, entry: Omit<HistoryEntry, 'time'> & { time?: number }) => void
  list: (leaseId: string) => HistoryEntry[]
  /** every entry so far, then new ones as they are recorded, until the signal aborts */
  follow: (leaseId: string, opts: { signal: AbortSignal }) => AsyncGenerator<HistoryEntry>
}

export function memoryHistoryStore (): HistoryStore {
  const m = new Map<string, HistoryEntry[]>()
  return { get: (id) => m.get(id), put: (id, e) => { m.set(id, e) } }
}

export function leaseHistory (init: LeaseHistoryInit = {}): (components: { store: HistoryStore, clock?: Clock }) => LeaseHistory {
  const max = init.maxEntries ?? DEFAULT_MAX_HISTORY_ENTRIES
  const keepFirst = Math.min(init.keepFirst ?? DEFAULT_HISTORY_KEEP_FIRST, Math.floor(max / 2))
  return ({ store, clock = systemClock() }) => {
    const listeners = new Map<string, Set<(e: HistoryEntry) => void>>()
    const cache = new Map<string, HistoryEntry[]>()
    const load = (id: string): HistoryEntry[] => {
      let l = cache.get(id)
      if (l == null) {
        l = store.get(id) ?? []
        cache.set(id, l)
        // only leases being written to stay cached
        if (cache.size > 256) cache.delete(cache.keys().next().value as string)
      }
      return l
    }
    return {
      record (leaseId, entry) {
        const e: HistoryEntry = { ...entry, time: entry.time ?? clock.now() }
        for (const k of Object.keys(e) as Array<keyof HistoryEntry>) if (e[k] === undefined) delete e[k]
        const l = load(leaseId)
        l.push(e)
        // a crash-looping container must not grow the record without bound: keep how it began and how it is going
        if (l.length > max) l.splice(keepFirst, l.length - max)
        store.put(leaseId, l)
        for (const f of listeners.get(leaseId) ?? []) f(e)
      },
      list: (leaseId) => [...load(leaseId)],
      async * follow (leaseId, opts) {
        const queue: HistoryEntry[] = []
        let wake: (() => void) | undefined
        const f = (e: HistoryEntry): void => { if (queue.length < max) queue.push(e); wake?.() }
        let set = listeners.get(leaseId)
        if (set == null) { set = new Set(); listeners.set(leaseId, set) }
        set.add(f)
        const onAbort = (): void => wake?.()
        opts.signal.addEventListener('abort', onAbort, { once: true })
        try {
          for (const e of load(leaseId)) yield e
          while (!opts.signal.aborted) {
            while (queue.length > 0) yield queue.shift()!
            if (opts.signal.aborted) break
            await new Promise<void>((resolve) => { wake = resolve })
            wake = undefined
          }
        } finally {
          opts.signal.removeEventListener('abort', onAbort)
          set.delete(f)
          if (set.size === 0) listeners.delete(leaseId)
        }
      }
    }
  }
}
