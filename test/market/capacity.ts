// A small, real ReservationProvider over a fixed capacity: the provider's inventory stands in
// behind the same interface. It refuses whatever does not fit, saying what was short.
import type { ReservationDemand, ReservationProvider, ReserveResult } from '../../src/market/index.ts'
import { ReasonCode } from '../../src/market/index.ts'

export interface Capacity {
  /** millicpu */
  cpu: number
  /** bytes */
  memory: number
  /** bytes by class (`ephemeral` for volumes without one) */
  storage: Record<string, number>
  /** units by `vendor/model` */
  gpu: Record<string, number>
}

interface Need { cpu: number, memory: number, storage: Record<string, number>, gpu: Record<string, number> }

export interface CapacityReservations extends ReservationProvider {
  free: () => Capacity
  held: () => string[]
}

export function capacityReservations (total: Capacity): CapacityReservations {
  const free: Capacity = { cpu: total.cpu, memory: total.memory, storage: { ...total.storage }, gpu: { ...total.gpu } }
  const holds = new Map<string, Need>()

  function plan (demand: ReservationDemand): { ok: true, need: Need } | { ok: false, code: string, message: string } {
    const need: Need = { cpu: 0, memory: 0, storage: {}, gpu: {} }
    const gpuFree = { ...free.gpu }
    for (const g of demand.groups) {
      for (const r of g.resources) {
        need.cpu += r.cpu * r.count
        need.memory += r.memory * r.count
        for (const v of r.storage) {
          const cls = v.class ?? 'ephemeral'
          need.storage[cls] = (need.storage[cls] ?? 0) + v.size * r.count
        }
        if (r.gpu.units > 0) {
          const units = r.gpu.units * r.count
          const fits = Object.keys(gpuFree).filter((k) => {
            const [vendor, model] = k.split('/')
            return r.gpu.models.length === 0 || r.gpu.models.some((m) => m.vendor.toLowerCase() === vendor && (m.model == null || m.model.toLowerCase() === model))
          })
          const have = fits.reduce((n, k) => n + gpuFree[k], 0)
          const label = r.gpu.models.length === 0 ? 'any GPU' : r.gpu.models.map((m) => `${m.vendor}/${m.model ?? '*'}`).join(' or ')
          if (have < units) return { ok: false, code: ReasonCode.INSUFFICIENT_GPU, message: `needs ${units} × ${label}, have ${have} free` }
          let left = units
          for (const k of fits) {
            const take = Math.min(left, gpuFree[k])
            gpuFree[k] -= take
            need.gpu[k] = (need.gpu[k] ?? 0) + take
            left -= take
          }
        }
      }
    }
    if (need.cpu > free.cpu) return { ok: false, code: ReasonCode.INSUFFICIENT_CPU, message: `needs ${need.cpu} millicpu, have ${free.cpu} free` }
    if (need.memory > free.memory) return { ok: false, code: ReasonCode.INSUFFICIENT_MEMORY, message: `needs ${need.memory} bytes of memory, have ${free.memory} free` }
    for (const [cls, n] of Object.entries(need.storage)) {
      const have = free.storage[cls] ?? 0
      if (n > have) return { ok: false, code: ReasonCode.INSUFFICIENT_STORAGE, message: `needs ${n} bytes of ${cls} storage, have ${have} free` }
    }
    return { ok: true, need }
  }

  return {
    reserve (id: string, demand: ReservationDemand): ReserveResult {
      if (holds.has(id)) return { ok: true }
      const p = plan(demand)
      if (!p.ok) return p
      const n = p.need
      free.cpu -= n.cpu
      free.memory -= n.memory
      for (const [k, v] of Object.entries(n.storage)) free.storage[k] -= v
      for (const [k, v] of Object.entries(n.gpu)) free.gpu[k] -= v
      holds.set(id, n)
      return { ok: true }
    },
    release (id: string): void {
      const n = holds.get(id)
      if (n == null) return
      holds.delete(id)
      free.cpu += n.cpu
      free.memory += n.memory
      for (const [k, v] of Object.entries(n.storage)) free.storage[k] += v
      for (const [k, v] of Object.entries(n.gpu)) free.gpu[k] += v
    },
    free: () => ({ cpu: free.cpu, memory: free.memory, storage: { ...free.storage }, gpu: { ...free.gpu } }),
    held: () => [...holds.keys()]
  }
}
