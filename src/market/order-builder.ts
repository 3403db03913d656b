// Turns a loaded SDL into the body of an order: one group per placement, each with its
// services' resources, prices and requirements, and the manifest's hash (never the manifest).
// The result is checked against the wire schema here, so a file that cannot become an order
// fails with the path of what is wrong rather than at signing time.
import { validateOrder, WireError } from '../wire/index.ts'
import type { OrderBody, WireGroup, WireGpuModel, WireResources, WireStorage } from '../wire/index.ts'
import type { LoadedSdl, ResourceGroup } from '../sdl/types.ts'
import { MarketError, MarketErrorCode } from './errors.ts'

export interface BuildOrderOptions {
  /** how long providers have to bid, ms */
  bidWindowMs: number
  /** ms since the Unix epoch; the deadline is now + bidWindowMs */
  now: number
  /** which providers the order accepts (wire.md §4.1); left out when absent */
  accept?: OrderBody['accept']
}

export function buildOrder (loaded: LoadedSdl, opts: BuildOrderOptions): OrderBody {
  if (!Number.isSafeInteger(opts.bidWindowMs) || opts.bidWindowMs < 1) {
    throw new MarketError(MarketErrorCode.INVALID_ORDER, 'must be a positive integer of milliseconds', 'bidWindowMs')
  }
  if (!Number.isSafeInteger(opts.now) || opts.now < 0) throw new MarketError(MarketErrorCode.INVALID_ORDER, 'must be ms since the Unix epoch', 'now')
  if (typeof loaded.manifestHash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(loaded.manifestHash)) {
    throw new MarketError(MarketErrorCode.INVALID_ORDER, 'must be a sha256 in hex (64 characters)', 'manifestHash')
  }
  const body: OrderBody = {
    groups: loaded.groups.map(toWireGroup),
    manifestHash: new Uint8Array(Buffer.from(loaded.manifestHash, 'hex')),
    bidDeadline: opts.now + opts.bidWindowMs,
    ...(opts.accept != null ? { accept: opts.accept } : {})
  }
  try {
    // the same bound every node applies to the signed order (signed no earlier than `now`)
    return validateOrder(body, 'order', { createdAt: opts.now })
  } catch (err) {
    if (err instanceof WireError) throw new MarketError(MarketErrorCode.INVALID_ORDER, `cannot become an order: ${err.message}`)
    throw err
  }
}

function toWireGroup (g: ResourceGroup): WireGroup {
  return {
    name: g.name,
    attributes: { ...g.attributes },
    signedBy: { allOf: [...g.signedBy.allOf], anyOf: [...g.signedBy.anyOf] },
    resources: g.resources.map((r): WireResources => ({
      service: r.service,
      cpu: r.resources.cpu,
      memory: r.resources.memory,
      storage: r.resources.storage.map((s): WireStorage => {
        const out: WireStorage = { name: s.name, size: s.size, persistent: s.persistent }
        if (s.class !== undefined) out.class = s.class
        return out
      }),
      gpu: {
        units: r.resources.gpu.units,
        models: r.resources.gpu.models.map((m): WireGpuModel => {
          const out: WireGpuModel = { vendor: m.vendor }
          if (m.model !== undefined) out.model = m.model
          if (m.ram !== undefined) out.ram = m.ram
          if (m.interface !== undefined) out.interface = m.interface
          return out
        })
      },
      count: r.count,
      price: { denom: r.price.denom, amount: r.price.amount }
    })),
    maxPrice: { denom: g.maxPrice.denom, amount: g.maxPrice.amount }
  }
}
