// The engine's settings, checked once when it is built, and its terms: the attributes,
// attestations and pricing a bid is made on, checked whole before a reload replaces them.
import { MAX_ATTRIBUTES, MAX_ATTRIBUTE_KEY_LENGTH, MAX_ATTRIBUTE_VALUE_LENGTH, MAX_AUDITORS } from '../wire/index.ts'
import type { AuditorAttestation, Signer } from '../wire/index.ts'
import { peerIdOfPublicKey } from '../identity/index.ts'
import { auditorNames, verifyAttestation } from './attestation.ts'
import {
  DEFAULT_BID_VALIDITY_MS, DEFAULT_MAX_BID_WINDOW_MS, DEFAULT_MAX_CONCURRENT_RESERVATIONS, DEFAULT_MAX_DECISIONS,
  DEFAULT_MAX_RESERVATIONS_PER_TENANT
} from './constants.ts'
import { MarketError, MarketErrorCode } from './errors.ts'
import { priceTable } from './pricing/price-table.ts'
import { scriptPricing } from './pricing/script.ts'
import type { PricingStrategy } from './pricing/strategy.ts'
import type { BidEngineInit, PricingConfig } from './bid-types.ts'

/** one consistent set of what a bid says and costs; replaced whole by reconfigure() */
export interface Terms {
  attributes: Record<string, string>
  attestations: AuditorAttestation[]
  /** auditors whose attestations of the attributes verify, under every name an order may use */
  auditors: Set<string>
  auditorList: string[]
  pricing: PricingStrategy
  /** the strategy is ours to stop only when we built it */
  ownsPricing: boolean
  /** decisions using these terms right now */
  users: number
  retired: boolean
}

/** the engine's settings, checked */
export interface Config {
  attributes: Record<string, string>
  attestations: AuditorAttestation[]
  pricing: PricingConfig | PricingStrategy
  bidValidityMs: number
  maxBidWindowMs: number
  maxConcurrentReservations: number
  maxReservationsPerTenant: number
  maxDecisions: number
}

export function isStrategy (p: PricingConfig | PricingStrategy): p is PricingStrategy {
  return typeof (p as PricingStrategy).price === 'function'
}

export function readInit (init: BidEngineInit): Config {
  if (init == null || typeof init !== 'object') throw new MarketError(MarketErrorCode.CONFIG, 'must be an object', 'market')
  const attributes = checkAttributes(init.attributes)
  const attestations = checkAttestations(init.attestations ?? [])
  checkPricing(init.pricing)
  const posInt = (v: number | undefined, d: number, path: string, min = 1): number => {
    if (v === undefined) return d
    if (!Number.isSafeInteger(v) || v < min) throw new MarketError(MarketErrorCode.CONFIG, `must be an integer ≥ ${min}`, path)
    return v
  }
  return {
    attributes,
    attestations,
    pricing: init.pricing,
    bidValidityMs: posInt(init.bidValidityMs, DEFAULT_BID_VALIDITY_MS, 'bidValidityMs', 0),
    maxBidWindowMs: posInt(init.maxBidWindowMs, DEFAULT_MAX_BID_WINDOW_MS, 'maxBidWindowMs'),
    maxConcurrentReservations: posInt(init.maxConcurrentReservations, DEFAULT_MAX_CONCURRENT_RESERVATIONS, 'maxConcurrentReservations'),
    maxReservationsPerTenant: posInt(init.maxReservationsPerTenant, DEFAULT_MAX_RESERVATIONS_PER_TENANT, 'maxReservationsPerTenant'),
    maxDecisions: posInt(init.maxDecisions, DEFAULT_MAX_DECISIONS, 'maxDecisions')
  }
}

export function checkAttributes (attrs: unknown): Record<string, string> {
  if (attrs == null || typeof attrs !== 'object' || Array.isArray(attrs)) throw new MarketError(MarketErrorCode.CONFIG, 'must be a map of text to text', 'attributes')
  // the limits of a bid's attributes (protocols/wire.md), so no bid ever fails to sign over them
  const entries = Object.entries(attrs)
  if (entries.length > MAX_ATTRIBUTES) throw new MarketError(MarketErrorCode.CONFIG, `must have at most ${MAX_ATTRIBUTES} entries`, 'attributes')
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > MAX_ATTRIBUTE_KEY_LENGTH) throw new MarketError(MarketErrorCode.CONFIG, `keys must be 1-${MAX_ATTRIBUTE_KEY_LENGTH} characters`, `attributes.${k}`)
    if (typeof v !== 'string') throw new MarketError(MarketErrorCode.CONFIG, 'must be a string', `attributes.${k}`)
    if (v.length > MAX_ATTRIBUTE_VALUE_LENGTH) throw new MarketError(MarketErrorCode.CONFIG, `must be at most ${MAX_ATTRIBUTE_VALUE_LENGTH} characters`, `attributes.${k}`)
  }
  return { ...attrs as Record<string, string> }
}

export function checkAttestations (list: unknown): AuditorAttestation[] {
  if (!Array.isArray(list) || list.length > MAX_AUDITORS) {
    throw new MarketError(MarketErrorCode.CONFIG, `must be a list of at most ${MAX_AUDITORS} attestations`, 'attestations')
  }
  return [...list]
}

export function checkPricing (p: unknown): void {
  if (p == null || typeof p !== 'object' || (!isStrategy(p as PricingStrategy) && !('table' in p) && !('script' in p))) {
    throw new MarketError(MarketErrorCode.CONFIG, 'must be { table: … }, { script: … } or a pricing strategy', 'pricing')
  }
}

/** checks the attestations over the attributes and builds the strategy; throws before anything is kept */
export function makeTerms (identity: Signer, attributes: Record<string, string>, attestations: AuditorAttestation[], pricing: PricingConfig | PricingStrategy): Terms {
  const auditors = new Set<string>()
  attestations.forEach((att, i) => {
    if (!verifyAttestation(att, identity.publicKey, attributes)) {
      throw new MarketError(MarketErrorCode.BAD_ATTESTATION, 'does not verify: it must be the auditor\'s signature over exactly this provider\'s key and attributes', `attestations[${i}]`)
    }
    for (const n of auditorNames(att.auditor)) auditors.add(n)
  })
  const owned = !isStrategy(pricing)
  const strategy: PricingStrategy = isStrategy(pricing)
    ? pricing
    : 'table' in pricing ? priceTable(pricing.table) : scriptPricing(pricing.script)
  return { attributes, attestations, auditors, auditorList: attestations.map((a) => peerIdOfPublicKey(a.auditor)), pricing: strategy, ownsPricing: owned, users: 0, retired: false }
}
