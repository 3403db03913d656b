// What this provider can offer, and what is already promised. A bid reserves resources; the
// reservation is held until the caller releases it (the bid lost or expired, or the lease
// closed), so two winning bids can never share one GPU.
import os from 'node:os'
import { statfs } from 'node:fs/promises'
import { InsufficientResourcesError, InvalidInventoryError, ReservationExistsError } from './errors.ts'
import { detectNvidiaGpus } from './nvidia-smi.ts'
import type { GpuDevice } from './nvidia-smi.ts'
import type { ComputeResources } from '../sdl/types.ts'
import type { SandboxReport } from './interface.ts'

/** what a bid asks for: one entry per service, `count` replicas of `resources` (ResourceGroup.resources fits) */
export type ResourceRequest = Array<{ resources: ComputeResources, count: number }>

export interface Capacity {
  /** millicpu */
  cpu: number
  /** bytes */
  memory: number
  /** bytes of disk for container layers and volumes */
  storage: number
  gpus: GpuDevice[]
}

export interface Overcommit {
  cpu?: number
  memory?: number
  storage?: number
}

export interface InventoryInit {
  capacity: Capacity
  /** factors applied to capacity (GPUs are never overcommitted); default 1 */
  overcommit?: Overcommit
  /** persistent storage classes offered; default `default`, `beta1`, `beta2`, `beta3` */
  storageClasses?: string[]
  /** kept back for the host itself, subtracted before overcommit */
  reserved?: { cpu?: number, memory?: number, storage?: number }
  /** storage the runtime cannot hold to its size, with why (SandboxReport.storage); such orders are declined */
  unenforcedStorage?: UnenforcedStorage[]
}

/** a kind of volume whose size the runtime cannot hold, and why, in words for the tenant */
export interface UnenforcedStorage {
  kind: 'ephemeral' | 'persistent' | 'ram'
  why: string
}

export interface Free {
  cpu: number
  memory: number
  storage: number
  /** GPUs not held by a reservation */
  gpus: GpuDevice[]
  storageClasses: string[]
  /** kinds of storage not bid on: the runtime cannot hold them to their size */
  unenforcedStorage?: UnenforcedStorage[]
}

export interface Reservation {
  id: string
  cpu: number
  memory: number
  storage: number
  /** the GPUs set aside, one per unit */
  gpus: GpuDevice[]
  createdAt: number
}

export type FitReason = 'cpu' | 'memory' | 'storage' | 'storage-class' | 'storage-not-enforced' | 'gpu' | 'invalid'

export type FitResult =
  | { ok: true, cpu: number, memory: number, storage: number, gpus: GpuDevice[] }
  | { ok: false, reason: FitReason, message: string }

export interface Inventory {
  /** capacity after reservations for the host and overcommit */
  capacity: () => Capacity
  free: () => Free
  fits: (request: ResourceRequest) => FitResult
  reserve: (id: string, request: ResourceRequest) => Reservation | InsufficientResourcesError
  release: (id: string) => boolean
  get: (id: string) => Reservation | undefined
  reservations: () => Reservation[]
  /** provider attributes describing the GPUs, in Akash's naming */
  gpuAttributes: () => Record<string, string>
  /** this inventory in the shape the market's bid engine asks for (its ReservationProvider) */
  reservationProvider: () => {
    reserve: (id: string, demand: ReservationDemandLike) => { ok: true } | { ok: false, code: string, message: string }
    release: (id: string) => void
  }
}

/** an order's demand as the bid engine passes it: the wire form of every group's resources, flat per service */
export interface ReservationDemandLike {
  groups: Array<{ resources: Array<{ cpu: number, memory: number, storage: ComputeResources['storage'], gpu: ComputeResources['gpu'], count: number }> }>
}

/** why a kind of storage is not held to its size, for the decline reason a tenant reads */
const UNENFORCED_WHY: Record<UnenforcedStorage['kind'], string> = {
  ephemeral: 'the container engine\'s storage driver cannot limit a container\'s writable layer',
  persistent: 'its volumes have no size limit (no volume store)',
  ram: 'its memory volumes have no size limit'
}

/** the kinds of storage a runtime's sandbox cannot hold to size (SandboxReport.storage `none`) */
export function unenforcedKinds (sandbox: Pick<SandboxReport, 'storage'> | undefined): UnenforcedStorage[] {
  if (sandbox == null) return []
  return (['ephemeral', 'persistent', 'ram'] as const).filter((k) => sandbox.storage[k] === 'none').map((kind) => ({ kind, why: UNENFORCED_WHY[kind] }))
}

/** reason → the market's reason code */
export const FIT_REASON_CODE: Record<FitReason, string> = {
  cpu: 'ERR_INSUFFICIENT_CPU',
  memory: 'ERR_INSUFFICIENT_MEMORY',
  storage: 'ERR_INSUFFICIENT_STORAGE',
  'storage-class': 'ERR_INSUFFICIENT_STORAGE',
  'storage-not-enforced': 'ERR_STORAGE_NOT_ENFORCED',
  gpu: 'ERR_INSUFFICIENT_GPU',
  invalid: 'ERR_RESERVATION_FAILED'
}

const GiB = 1024 ** 3

function fmtCpu (m: number): string {
  return String(Math.round(m) / 1000)
}

function fmtBytes (b: number): string {
  for (const [unit, size] of [['Ti', 1024 ** 4], ['Gi', GiB], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) {
    if (Math.abs(b) >= size) return `${Math.round((b / size) * 10) / 10}${unit}`
  }
  return `${b}B`
}

function normInterface (s: string | undefined): string | undefined {
  if (s == null) return undefined
  const l = s.toLowerCase()
  return l.startsWith('sxm') ? 'sxm' : l
}

/** whether a device is one of the acceptable models (an empty list accepts any GPU) */
export function gpuMatches (d: GpuDevice, models: ComputeResources['gpu']['models']): boolean {
  if (models.length === 0) return true
  return models.some((m) =>
    m.vendor.toLowerCase() === d.vendor &&
    (m.model == null || m.model === '*' || m.model.toLowerCase() === d.model) &&
    (m.ram == null || m.ram === d.ram) &&
    (m.interface == null || normInterface(m.interface) === d.interface))
}

function modelsLabel (models: ComputeResources['gpu']['models']): string {
  if (models.length === 0) return 'gpu'
  const vendors = [...new Set(models.map((m) => m.vendor))]
  return vendors.map((v) => `${v}/${models.filter((m) => m.vendor === v).map((m) => m.model ?? '*').join('|')}`).join(', ')
}

/**
 * Whether a request fits in what is free, as a pure function. On success it names the GPUs it
 * would take; on failure it says which resource ran out, in words a provider operator reads.
 */
export function fits (free: Free, request: ResourceRequest): FitResult {
  let cpu = 0
  let memory = 0
  let storage = 0
  let gpuUnits = 0
  for (const [i, r] of request.entries()) {
    if (!Number.isInteger(r.count) || r.count < 0 || r.resources == null) return { ok: false, reason: 'invalid', message: `request[${i}]: count must be a non-negative integer` }
    const res = r.resources
    if (!(res.cpu >= 0) || !(res.memory >= 0)) return { ok: false, reason: 'invalid', message: `request[${i}]: cpu and memory must be non-negative numbers` }
    cpu += res.cpu * r.count
    memory += res.memory * r.count
    for (const s of res.storage) {
      if (!(s.size >= 0)) return { ok: false, reason: 'invalid', message: `request[${i}]: storage ${s.name} has no valid size` }
      const kind = s.class === 'ram' ? 'ram' : s.persistent ? 'persistent' : 'ephemeral'
      const unenforced = (free.unenforcedStorage ?? []).find((u) => u.kind === kind)
      if (unenforced != null && s.size > 0 && r.count > 0) {
        return { ok: false, reason: 'storage-not-enforced', message: `needs ${fmtBytes(s.size)} of ${kind} storage (volume ${s.name}), and this provider cannot hold ${kind} storage to its size (${unenforced.why}), so it does not bid on it` }
      }
      if (s.class === 'ram') { memory += s.size * r.count; continue }
      if (s.persistent && !free.storageClasses.includes(s.class ?? 'default')) {
        return { ok: false, reason: 'storage-class', message: `needs persistent storage of class ${s.class ?? 'default'}, which this provider does not offer (offers ${free.storageClasses.join(', ') || 'none'})` }
      }
      storage += s.size * r.count
    }
    gpuUnits += res.gpu.units * r.count
  }
  if (cpu > free.cpu) return { ok: false, reason: 'cpu', message: `needs ${fmtCpu(cpu)} cpu, have ${fmtCpu(Math.max(0, free.cpu))} free` }
  if (memory > free.memory) return { ok: false, reason: 'memory', message: `needs ${fmtBytes(memory)} memory, have ${fmtBytes(Math.max(0, free.memory))} free` }
  if (storage > free.storage) return { ok: false, reason: 'storage', message: `needs ${fmtBytes(storage)} storage, have ${fmtBytes(Math.max(0, free.storage))} free` }
  const taken: GpuDevice[] = []
  if (gpuUnits > 0) {
    const pool = [...free.gpus]
    // the most particular requests pick first, so a flexible one cannot take the only match
    const needs = request
      .filter((r) => r.resources.gpu.units > 0 && r.count > 0)
      .map((r) => ({ r, candidates: pool.filter((d) => gpuMatches(d, r.resources.gpu.models)).length }))
      .sort((a, b) => a.candidates - b.candidates)
    for (const { r } of needs) {
      const want = r.resources.gpu.units * r.count
      const matching = pool.filter((d) => gpuMatches(d, r.resources.gpu.models))
      if (matching.length < want) {
        const all = free.gpus.filter((d) => gpuMatches(d, r.resources.gpu.models)).length
        return { ok: false, reason: 'gpu', message: `needs ${want} × ${modelsLabel(r.resources.gpu.models)}, have ${Math.min(all, matching.length)} free` }
      }
      for (const d of matching.slice(0, want)) {
        taken.push(d)
        pool.splice(pool.indexOf(d), 1)
      }
    }
  }
  return { ok: true, cpu, memory, storage, gpus: taken }
}

export function inventory (init: InventoryInit): Inventory {
  const raw = init.capacity
  for (const k of ['cpu', 'memory', 'storage'] as const) {
    if (!Number.isFinite(raw[k]) || raw[k] < 0) throw new InvalidInventoryError(`capacity.${k} must be a non-negative number`)
  }
  for (const k of ['cpu', 'memory', 'storage'] as const) {
    const f = init.overcommit?.[k]
    if (f != null && (!Number.isFinite(f) || f < 1 || f > 100)) throw new InvalidInventoryError(`overcommit.${k} must be from 1 to 100`)
  }
  const uuids = new Set(raw.gpus.map((g) => g.uuid))
  if (uuids.size !== raw.gpus.length) throw new InvalidInventoryError('two GPUs share one UUID')
  const cap: Capacity = {
    cpu: Math.max(0, raw.cpu - (init.reserved?.cpu ?? 0)) * (init.overcommit?.cpu ?? 1),
    memory: Math.max(0, raw.memory - (init.reserved?.memory ?? 0)) * (init.overcommit?.memory ?? 1),
    storage: Math.max(0, raw.storage - (init.reserved?.storage ?? 0)) * (init.overcommit?.storage ?? 1),
    gpus: [...raw.gpus]
  }
  const storageClasses = init.storageClasses ?? ['default', 'beta1', 'beta2', 'beta3']
  const held = new Map<string, Reservation>()

  function free (): Free {
    const used = { cpu: 0, memory: 0, storage: 0 }
    const busy = new Set<string>()
    for (const r of held.values()) {
      used.cpu += r.cpu
      used.memory += r.memory
      used.storage += r.storage
      for (const g of r.gpus) busy.add(g.uuid)
    }
    return {
      cpu: cap.cpu - used.cpu,
      memory: cap.memory - used.memory,
      storage: cap.storage - used.storage,
      gpus: cap.gpus.filter((g) => !busy.has(g.uuid)),
      storageClasses,
      unenforcedStorage: [...(init.unenforcedStorage ?? [])]
    }
  }

  const inv: Inventory = {
    capacity: () => ({ ...cap, gpus: [...cap.gpus] }),
    free,
    fits: (request) => fits(free(), request),
    reserve (id, request) {
      if (held.has(id)) throw new ReservationExistsError(id)
      const r = fits(free(), request)
      if (!r.ok) return new InsufficientResourcesError(r.reason, r.message)
      const reservation: Reservation = { id, cpu: r.cpu, memory: r.memory, storage: r.storage, gpus: r.gpus, createdAt: Date.now() }
      held.set(id, reservation)
      return reservation
    },
    release: (id) => held.delete(id),
    get: (id) => held.get(id),
    reservations: () => [...held.values()],
    gpuAttributes () {
      const attrs: Record<string, string> = {}
      for (const g of cap.gpus) {
        const base = `capabilities/gpu/vendor/${g.vendor}/model/${g.model}`
        attrs[base] = 'true'
        attrs[`${base}/ram/${g.ramLabel}`] = 'true'
        if (g.interface != null) attrs[`${base}/interface/${g.interface}`] = 'true'
      }
      return attrs
    },
    reservationProvider: () => ({
      reserve (id, demand) {
        // a repeated reserve for the same order holds nothing more
        if (held.has(id)) return { ok: true }
        const request: ResourceRequest = demand.groups.flatMap((g) => g.resources.map((r) => ({
          resources: { cpu: r.cpu, memory: r.memory, storage: r.storage, gpu: r.gpu }, count: r.count
        })))
        const r = inv.reserve(id, request)
        if (r instanceof InsufficientResourcesError) return { ok: false, code: FIT_REASON_CODE[r.reason as FitReason] ?? 'ERR_RESERVATION_FAILED', message: r.message }
        return { ok: true }
      },
      release (id) { held.delete(id) }
    })
  }
  return inv
}

export interface HostCapacityOptions {
  /** where volumes and container layers live; its file system's size is the storage capacity */
  dataDir?: string
  /** `detect` runs nvidia-smi; a list is used as given */
  gpus?: 'detect' | GpuDevice[]
  /** values from configuration win over detection */
  override?: Partial<Omit<Capacity, 'gpus'>>
}

/** Capacity of this host: cpus, memory, the data directory's file system, and GPUs. */
export async function hostCapacity (opts: HostCapacityOptions = {}): Promise<Capacity> {
  let storage = opts.override?.storage
  if (storage == null) {
    const st = await statfs(opts.dataDir ?? os.tmpdir())
    storage = Number(st.blocks) * Number(st.bsize)
  }
  return {
    cpu: opts.override?.cpu ?? os.availableParallelism() * 1000,
    memory: opts.override?.memory ?? os.totalmem(),
    storage,
    gpus: opts.gpus === 'detect' ? await detectNvidiaGpus() : (opts.gpus ?? [])
  }
}
