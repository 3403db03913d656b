// Prices from a table: so much per CPU, per GiB of memory, per GiB of storage by class, per GPU
// by model and per global endpoint. A group's price is the sum over its services of the price of
// one replica times the replica count, computed exactly and rounded up once to 10^-18.
import { MarketError, MarketErrorCode, PricingError } from '../errors.ts'
import { ReasonCode } from '../constants.ts'
import { formatAmount, parseAmount } from '../../wire/amount.ts'
import { globalEndpoints } from './strategy.ts'
import type { PricingRequest, PricingStrategy } from './strategy.ts'
import type { Price, WireResources } from '../../wire/index.ts'
import { errorMessage } from '../../util/index.ts'

export interface PriceTableConfig {
  /** the denom every price is in; groups whose maxPrice is in another denom get no bid */
  denom: string
  /** per CPU (1000 millicpu); omitted means "0" */
  cpu?: string
  /** per GiB (2^30 bytes) of memory; omitted means "0" */
  memory?: string
  /**
   * per GiB of storage, by class: `ephemeral` for non-persistent volumes without a class, the
   * class name otherwise (`beta1`, `beta2`, `beta3`, `ram`, …), `default` for persistent volumes
   * without one, and `*` for any class not listed. `ephemeral` omitted means "0"; any other
   * class with no entry and no `*` is not offered.
   */
  storage?: Record<string, string>
  /**
   * per GPU unit, by `vendor/model` (lowercase, e.g. `nvidia/h100`), with `vendor/*` and `*` as
   * fallbacks. A model with no entry and no fallback is not offered.
   */
  gpu?: Record<string, string>
  /** per global endpoint (an expose with `global: true`); omitted means "0" */
  endpoint?: string
}

const GIB = 1n << 30n
const MILLI = 1000n
// every per-replica term is price × quantity / (1000 or 2^30); one common denominator keeps the sum exact
const DEN = MILLI * GIB

interface Table {
  denom: string
  cpu: bigint
  memory: bigint
  storage: Map<string, bigint>
  gpu: Map<string, bigint>
  endpoint: bigint
}

export function priceTable (config: PriceTableConfig): PricingStrategy {
  const table = readConfig(config)
  return {
    name: 'price-table',
    async price (req: PricingRequest): Promise<Price[]> {
      return req.groups.map((g) => {
        let num = 0n
        for (const r of g.resources) {
          num += replicaNumerator(table, r, g.name) * BigInt(r.count)
        }
        const units = num === 0n ? 0n : (num + DEN - 1n) / DEN
        let amount: string
        try {
          amount = formatAmount(units)
        } catch (err) {
          throw new PricingError(ReasonCode.PRICING_FAILED, `price for group ${g.name} is out of range (${errorMessage(err)})`)
        }
        return { denom: table.denom, amount }
      })
    }
  }
}

/** One replica's price × DEN. */
function replicaNumerator (t: Table, r: WireResources, group: string): bigint {
  let n = t.cpu * BigInt(r.cpu) * (DEN / MILLI)
  n += t.memory * BigInt(r.memory) * (DEN / GIB)
  for (const v of r.storage) {
    const cls = storageClass(v)
    const p = t.storage.get(cls) ?? t.storage.get('*')
    if (p === undefined) {
      throw new PricingError(ReasonCode.UNPRICED_RESOURCE, `no price for storage class ${cls} (service ${r.service}, group ${group}); the price table lists ${[...t.storage.keys()].join(', ') || 'no storage classes'}`)
    }
    n += p * BigInt(v.size) * (DEN / GIB)
  }
  if (r.gpu.units > 0) n += gpuUnitPrice(t, r, group) * BigInt(r.gpu.units) * DEN
  n += t.endpoint * BigInt(globalEndpoints(r)) * DEN
  return n
}

export function storageClass (v: { persistent: boolean, class?: string }): string {
  return v.class ?? (v.persistent ? 'default' : 'ephemeral')
}

/**
 * The order lists the GPU models it accepts; the provider may place any of them, so the unit
 * price is the highest among the acceptable models it has a price for.
 */
function gpuUnitPrice (t: Table, r: WireResources, group: string): bigint {
  const wanted = r.gpu.models.length === 0 ? [{ vendor: '*', model: undefined }] : r.gpu.models
  let best: bigint | undefined
  const names: string[] = []
  for (const m of wanted) {
    const vendor = m.vendor.toLowerCase()
    const model = m.model?.toLowerCase()
    names.push(vendor === '*' ? 'any GPU' : `${vendor}/${model ?? '*'}`)
    const p = (model != null ? t.gpu.get(`${vendor}/${model}`) : undefined) ?? t.gpu.get(`${vendor}/*`) ?? t.gpu.get('*')
    if (p !== undefined && (best === undefined || p > best)) best = p
  }
  if (best === undefined) {
    throw new PricingError(ReasonCode.UNPRICED_RESOURCE, `no price for GPU ${names.join(' or ')} (service ${r.service}, group ${group}); the price table lists ${[...t.gpu.keys()].join(', ') || 'no GPUs'}`)
  }
  return best
}

function readConfig (c: PriceTableConfig): Table {
  if (c == null || typeof c !== 'object') throw new MarketError(MarketErrorCode.CONFIG, 'must be an object', 'pricing')
  if (typeof c.denom !== 'string' || c.denom.length === 0 || c.denom.length > 128) {
    throw new MarketError(MarketErrorCode.CONFIG, 'must be a denom like "uakt" (1-128 characters)', 'pricing.denom')
  }
  const amount = (v: unknown, path: string): bigint => {
    if (v === undefined) return 0n
    try {
      return parseAmount(v as string, path)
    } catch (err) {
      // the field goes into `path`, so a caller can name it in its own terms (souk.yaml's, say)
      const m = errorMessage(err)
      throw new MarketError(MarketErrorCode.CONFIG, m.startsWith(`${path}: `) ? m.slice(path.length + 2) : m, path)
    }
  }
  const classes = (m: Record<string, string> | undefined, path: string, lower: boolean): Map<string, bigint> => {
    const out = new Map<string, bigint>()
    if (m === undefined) return out
    if (m == null || typeof m !== 'object' || Array.isArray(m)) throw new MarketError(MarketErrorCode.CONFIG, 'must be a map of name to decimal string', path)
    for (const [k, v] of Object.entries(m)) out.set(lower ? k.toLowerCase() : k, amount(v, `${path}.${k}`))
    return out
  }
  return {
    denom: c.denom,
    cpu: amount(c.cpu, 'pricing.cpu'),
    memory: amount(c.memory, 'pricing.memory'),
    storage: withEphemeral(classes(c.storage, 'pricing.storage', false)),
    gpu: classes(c.gpu, 'pricing.gpu', true),
    endpoint: amount(c.endpoint, 'pricing.endpoint')
  }
}

// container scratch space comes with every replica; unlisted, it is free rather than refused
function withEphemeral (m: Map<string, bigint>): Map<string, bigint> {
  if (!m.has('ephemeral')) m.set('ephemeral', m.get('*') ?? 0n)
  return m
}
