// A small metrics surface: named counters with labels. The API layer maps it onto Prometheus;
// tests and benchmarks read the in-memory one.

export type Labels = Record<string, string>

export interface Counter {
  inc: (labels?: Labels, by?: number) => void
}

export interface NetMetrics {
  counter: (name: string, help: string) => Counter
}

/** Counters kept in memory, readable by name and labels. */
export interface MemoryMetrics extends NetMetrics {
  get: (name: string, labels?: Labels) => number
  /** every counter as `name{k="v",…} value` lines */
  snapshot: () => Record<string, number>
}

function key (labels: Labels = {}): string {
  return Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`).join(',')
}

export function memoryMetrics (): MemoryMetrics {
  const counters = new Map<string, Map<string, number>>()
  return {
    counter (name: string) {
      let values = counters.get(name)
      if (values == null) { values = new Map(); counters.set(name, values) }
      const v = values
      return {
        inc (labels?: Labels, by = 1) {
          const k = key(labels)
          v.set(k, (v.get(k) ?? 0) + by)
        }
      }
    },
    get (name: string, labels?: Labels) {
      return counters.get(name)?.get(key(labels)) ?? 0
    },
    snapshot () {
      const out: Record<string, number> = {}
      for (const [name, values] of counters) {
        for (const [k, n] of values) out[k === '' ? name : `${name}{${k}}`] = n
      }
      return out
    }
  }
}

/** Metric names the net layer counts. */
export const MetricName = {
  /** labels: topic, verdict, code */
  GOSSIP_VALIDATION: 'souk_gossip_validation_total',
  /** labels: topic */
  GOSSIP_DELIVERED: 'souk_gossip_delivered_total',
  /** labels: topic */
  GOSSIP_PUBLISHED: 'souk_gossip_published_total',
  /** labels: protocol (the id), outcome, code (a refusal's or failure's): every stream protocol's inbound exchanges */
  STREAM_EXCHANGES: 'souk_stream_exchanges_total',
  /** labels: bound (which limit on what strangers may add refused something) */
  BOUND_HIT: 'souk_bound_hits_total',
  /** no labels: keys checked against the key rule for the first time (each costs about a signature check) */
  KEY_CHECKS: 'souk_key_checks_total'
} as const
