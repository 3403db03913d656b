// What the bid engine decided about each order, and why. Kept in a bounded LRU unless a store
// is given, so `explain(orderId)` can answer without memory growing with the order flow.
import type { Price } from '../wire/index.ts'
import { DEFAULT_MAX_DECISIONS } from './constants.ts'

export interface Reason {
  /** ERR_* (see ReasonCode) */
  code: string
  message: string
  /** the order group the reason is about, when it is about one */
  group?: string
}

/** open: the bid is out, capacity held; won: a lease, capacity held; the rest: capacity released */
export type BidState = 'open' | 'won' | 'lost' | 'expired' | 'closed' | 'stopped'

export interface Decision {
  /** order ID, lowercase hex */
  order: string
  /** tenant peer ID */
  tenant: string
  /** ms since the Unix epoch, engine clock */
  decidedAt: number
  outcome: 'bid' | 'declined'
  /** why not; empty for a bid */
  reasons: Reason[]
  /** one per group, for a bid */
  prices?: Price[]
  /** the bid's message ID, lowercase hex */
  bid?: string
  /** when the bid lapses */
  expiresAt?: number
  state?: BidState
  /** when the reservation was given back */
  releasedAt?: number
}

/** Where decisions are recorded. A persistent store implements this over its own tables. */
export interface DecisionStore {
  put: (decision: Decision) => void | Promise<void>
  get: (order: string) => Decision | undefined | Promise<Decision | undefined>
  /** order IDs beginning with `prefix` (at most a few: enough to tell one from many) */
  find?: (prefix: string) => string[] | Promise<string[]>
}

/** Least-recently-used decisions in memory, at most `max`. */
export function memoryDecisionStore (max = DEFAULT_MAX_DECISIONS): DecisionStore & { size: () => number } {
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('max must be a positive integer')
  const map = new Map<string, Decision>()
  return {
    put (d) {
      map.delete(d.order)
      map.set(d.order, d)
      while (map.size > max) {
        const oldest = map.keys().next()
        if (oldest.done === true) break
        map.delete(oldest.value)
      }
    },
    get (order) {
      const d = map.get(order)
      if (d !== undefined) { map.delete(order); map.set(order, d) }
      return d
    },
    find (prefix) {
      const out: string[] = []
      for (const k of map.keys()) if (k.startsWith(prefix) && out.push(k) >= 2) break
      return out
    },
    size: () => map.size
  }
}

/** One line per reason, `CODE: message`, or the bid's prices. */
export function formatDecision (d: Decision): string {
  if (d.outcome === 'bid') {
    const prices = (d.prices ?? []).map((p) => `${p.amount} ${p.denom}`).join(', ')
    return `bid ${prices}${d.state != null ? ` (${d.state})` : ''}`
  }
  return d.reasons.map((r) => `${r.code}: ${r.message}`).join('\n')
}
