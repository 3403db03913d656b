// What this provider can offer: the host's capacity (or the operator's figures), the GPUs its
// runtime can attach, and the sandbox leases run in, which decides the storage it bids on.
// the inventory by its own file: the runtime folder's index also holds the runtimes, which load their clients
import { inventory, hostCapacity, unenforcedKinds, FIT_REASON_CODE } from '../../runtime/inventory.ts'
import type { UnenforcedStorage } from '../../runtime/inventory.ts'
import type { ContainerRuntime, GpuDevice, Inventory, SandboxReport, ResourceRequest, FitReason } from '../../runtime/index.ts'
import type { ReservationDemand } from '../../market/index.ts'
import { errorMessage } from '../../util/index.ts'
import type { Logger } from '../logger.ts'

export interface CapacityInit {
  /** the node home: the disk it is on is the storage offered */
  home: string
  /** the operator's figures; 0 reads the host */
  cpu: number
  memory: number
  storage: number
  cpuOvercommit: number
  memoryOvercommit: number
  /** provider.sandbox.unenforcedStorage resolved: storage the runtime cannot hold to size is offered anyway */
  acceptUnenforcedStorage: boolean
}

export interface Capacity {
  inventory: Inventory
  sandbox: SandboxReport | undefined
  /** storage kinds not bid on: the sandbox cannot hold them to size */
  declinedStorage: UnenforcedStorage[]
  /** storage kinds bid on although the sandbox cannot hold them to size (the operator accepts it) */
  acceptedUnenforcedStorage: UnenforcedStorage[]
}

/** measures the host and asks the runtime what it holds leases to */
export async function measureCapacity (init: CapacityInit, components: { runtime: ContainerRuntime, logger: Logger, gpus: () => Promise<GpuDevice[]> }): Promise<Capacity> {
  const { runtime, logger } = components
  const capacity = await hostCapacity({
    dataDir: init.home,
    gpus: await components.gpus(),
    override: { ...(init.cpu > 0 ? { cpu: init.cpu } : {}), ...(init.memory > 0 ? { memory: init.memory } : {}), ...(init.storage > 0 ? { storage: init.storage } : {}) }
  })
  // what the runtime holds tenants to decides what this provider bids on
  const sandbox = await runtime.sandbox().catch((err: unknown): SandboxReport | undefined => {
    logger.warn({ err: errorMessage(err) }, 'the runtime could not describe its sandbox')
    return undefined
  })
  for (const note of sandbox?.notes ?? []) logger.info({ note }, 'sandbox')
  const unenforced = unenforcedKinds(sandbox)
  const declinedStorage = init.acceptUnenforcedStorage ? [] : unenforced
  return {
    inventory: inventory({ capacity, overcommit: { cpu: init.cpuOvercommit, memory: init.memoryOvercommit }, unenforcedStorage: declinedStorage }),
    sandbox,
    declinedStorage,
    acceptedUnenforcedStorage: init.acceptUnenforcedStorage ? unenforced : []
  }
}

/**
 * Every resource an order falls short of, not the first one only: the request is checked one
 * resource at a time (cpu, memory with RAM volumes, storage, GPUs) against what is free.
 */
export function capacityReasons (inv: Pick<Inventory, 'fits'>, demand: ReservationDemand): Array<{ code: string, message: string }> {
  const request: ResourceRequest = demand.groups.flatMap((g) => g.resources.map((r) => ({ resources: { cpu: r.cpu, memory: r.memory, storage: r.storage, gpu: r.gpu }, count: r.count })))
  const whole = inv.fits(request)
  if (whole.ok) return []
  const noGpu = { units: 0, models: [] }
  const views: ResourceRequest[] = [
    request.map((x) => ({ count: x.count, resources: { cpu: x.resources.cpu, memory: 0, storage: [], gpu: noGpu } })),
    request.map((x) => ({ count: x.count, resources: { cpu: 0, memory: x.resources.memory, storage: x.resources.storage.filter((v) => v.class === 'ram'), gpu: noGpu } })),
    request.map((x) => ({ count: x.count, resources: { cpu: 0, memory: 0, storage: x.resources.storage.filter((v) => v.class !== 'ram'), gpu: noGpu } })),
    request.map((x) => ({ count: x.count, resources: { cpu: 0, memory: 0, storage: [], gpu: x.resources.gpu } }))
  ]
  const out: Array<{ code: string, message: string }> = []
  for (const v of views) {
    const r = inv.fits(v)
    if (!r.ok && !out.some((o) => o.message === r.message)) out.push({ code: FIT_REASON_CODE[r.reason as FitReason] ?? 'ERR_RESERVATION_FAILED', message: r.message })
  }
  return out.length > 0 ? out : [{ code: FIT_REASON_CODE[whole.reason as FitReason] ?? 'ERR_RESERVATION_FAILED', message: whole.message }]
}
