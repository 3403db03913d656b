// What the bid engine asks a pricing strategy, and what it gets back.
import type { Price, WireGroup, WireResources } from '../../wire/index.ts'

export interface PricingRequest {
  /** the order's ID, lowercase hex */
  order: string
  /** the tenant's peer ID */
  tenant: string
  /** ms since the Unix epoch */
  bidDeadline: number
  /** the order's groups as they came over the wire */
  groups: WireGroup[]
  /** the provider's own attributes, for strategies that price by them */
  provider: { attributes: Record<string, string> }
}

export interface PricingProgressEvent { type: string, detail?: unknown }

export interface PriceOptions {
  signal?: AbortSignal
  /** `pricing:script:queued`, `pricing:script:start`, `pricing:script:done` */
  onProgress?: (evt: PricingProgressEvent) => void
}

/**
 * Prices a whole order: one price per group, in group order. A strategy that cannot price an
 * order throws a PricingError whose `reason` the engine records; it never returns a partial list.
 */
export interface PricingStrategy {
  readonly name: string
  price: (req: PricingRequest, opts?: PriceOptions) => Promise<Price[]>
  /** ends running work (pricing scripts are killed); later calls fail */
  stop?: () => void
}

/**
 * Global endpoints of one replica. Orders of wire version 1 do not carry exposes, so this is 0
 * for them; a resources entry that carries an `endpoints` count is priced by it.
 */
export function globalEndpoints (r: WireResources): number {
  const n = (r as WireResources & { endpoints?: unknown }).endpoints
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 0
}
