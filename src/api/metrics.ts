// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
// text exposition format (version 0.0.4). Enough for souk's own metrics without a dependency.

export type Labels = Record<string, string>

interface Family {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  render: () => string[]
}

function labelKey (labels: Labels | undefined): string {
  if (labels == null) return ''
  const keys = Object.keys(labels).sort()
  return keys.map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')
}

function fmt (n: number): string {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return '+Inf'
  if (n === -Infinity) return '-Inf'
  return String(n)
}

export interface Counter { inc: (labels?: Labels, by?: number) => void, get: (labels?: Labels) => number }
/** what a counter's collect callback sees: the totals another part keeps, copied in at each scrape */
export interface CounterTotals { set: (total: number, labels?: Labels) => void }
export interface Gauge { set: (value: number, labels?: Labels) => void, inc: (labels?: Labels, by?: number) => void, dec: (labels?: Labels, by?: number) => void, get: (labels?: Labels) => number }
export interface Histogram { observe: (value: number, labels?: Labels) => void }

export interface MetricsRegistry {
  counter: (name: string, help: string, collect?: (c: CounterTotals) => void) => Counter
  gauge: (name: string, help: string, collect?: (g: Gauge) => void) => Gauge
  histogram: (name: string, help: string, buckets?: number[]) => Histogram
  render: () => string
}

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

export function createMetricsRegistry (): MetricsRegistry {
  const families = new Map<string, Family & { api: unknown }>()

  function family<T> (name: string, help: string, type: Family['type'], make: () => { api: T, render: () => string[] }): T {
    if (!NAME.test(name)) throw new TypeError(`bad metric name ${name}`)
    const existing = families.get(name)
    if (existing != null) {
      if (existing.type !== type) throw new TypeError(`metric ${name} already registered as a ${existing.type}`)
      return existing.api as T
    }
    const { api, render } = make()
    families.set(name, { name, help, type, render, api })
    return api
  }

  return {
    counter (name, help, collect) {
      return family<Counter>(name, help, 'counter', () => {
        const values = new Map<string, number>()
        const totals: CounterTotals = { set: (total, labels) => { values.set(labelKey(labels), total) } }
        return {
          api: {
            inc: (labels, by = 1) => { const k = labelKey(labels); values.set(k, (values.get(k) ?? 0) + by) },
            get: (labels) => values.get(labelKey(labels)) ?? 0
          },
          render: () => {
            collect?.(totals)
            return [...values].map(([k, v]) => `${name}${k === '' ? '' : `{${k}}`} ${fmt(v)}`)
          }
        }
      })
    },
    gauge (name, help, collect) {
      return family<Gauge>(name, help, 'gauge', () => {
        const values = new Map<string, number>()
        const api: Gauge = {
          set: (value, labels) => { values.set(labelKey(labels), value) },
          inc: (labels, by = 1) => { const k = labelKey(labels); values.set(k, (values.get(k) ?? 0) + by) },
          dec: (labels, by = 1) => { const k = labelKey(labels); values.set(k, (values.get(k) ?? 0) - by) },
          get: (labels) => values.get(labelKey(labels)) ?? 0
        }
        return {
          api,
          render: () => {
            collect?.(api)
            return [...values].map(([k, v]) => `${name}${k === '' ? '' : `{${k}}`} ${fmt(v)}`)
          }
        }
      })
    },
    histogram (name, help, buckets = DEFAULT_BUCKETS) {
      const bounds = [...buckets].sort((a, b) => a - b)
      return family<Histogram>(name, help, 'histogram', () => {
        const series = new Map<string, { counts: number[], sum: number, count: number }>()
        return {
          api: {
            observe: (value, labels) => {
              const k = labelKey(labels)
              let s = series.get(k)
              if (s == null) { s = { counts: bounds.map(() => 0), sum: 0, count: 0 }; series.set(k, s) }
              for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]) s.counts[i]++
              s.sum += value
              s.count++
            }
          },
          render: () => {
            const out: string[] = []
            for (const [k, s] of series) {
              const sep = k === '' ? '' : ','
              bounds.forEach((b, i) => out.push(`${name}_bucket{${k}${sep}le="${fmt(b)}"} ${s.counts[i]}`))
              out.push(`${name}_bucket{${k}${sep}le="+Inf"} ${s.count}`)
              out.push(`${name}_sum${k === '' ? '' : `{${k}}`} ${fmt(s.sum)}`)
              out.push(`${name}_count${k === '' ? '' : `{${k}}`} ${s.count}`)
            }
            return out
          }
        }
      })
    },
    render () {
      const lines: string[] = []
      for (const f of families.values()) {
        lines.push(`# HELP ${f.name} ${f.help.replace(/\n/g, ' ')}`)
        lines.push(`# TYPE ${f.name} ${f.type}`)
        lines.push(...f.render())
      }
      return lines.join('\n') + '\n'
    }
  }
}
