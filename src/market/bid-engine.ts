// The provider's bid engine. For each order it checks, cheapest first: the deadline, the
// required attributes and auditors, the price against each group's maxPrice, and finally free
// capacity, which it reserves before the bid goes out. Every order gets a recorded decision:
// a bid with its prices, or the reasons there was none. A reservation is given back the moment
// its bid is lost or expires, or its lease closes; nothing is held on "just in case".
import { MAX_ATTRIBUTES, MAX_ATTRIBUTE_KEY_LENGTH, MAX_ATTRIBUTE_VALUE_LENGTH, MAX_AUDITORS, MessageTag, signMessage, toHex } from '../wire/index.ts'
import type { AuditorAttestation, BidBody, OrderBody, Price, SignedMessage, Signer } from '../wire/index.ts'
import { peerIdOfPublicKey } from '../identity/index.ts'
import { auditorName, auditorNames, verifyAttestation } from './attestation.ts'
import { systemClock } from './clock.ts'
import type { Clock, Timer } from './clock.ts'
import {
  DEFAULT_BID_VALIDITY_MS, DEFAULT_MAX_BID_WINDOW_MS, DEFAULT_MAX_CONCURRENT_RESERVATIONS, DEFAULT_MAX_DECISIONS,
  DEFAULT_MAX_RESERVATIONS_PER_TENANT, MarketMetricName, ReasonCode
} from './constants.ts'
import { parseAmount } from '../wire/amount.ts'
import { memoryDecisionStore } from './decisions.ts'
import type { BidState, Decision, DecisionStore, Reason } from './decisions.ts'
import { MarketError, MarketErrorCode, PricingError } from './errors.ts'
import { priceTable } from './pricing/price-table.ts'
import type { PriceTableConfig } from './pricing/price-table.ts'
import { scriptPricing } from './pricing/script.ts'
import type { ScriptPricingInit } from './pricing/script.ts'
import type { PricingRequest, PricingStrategy } from './pricing/strategy.ts'
import type { ReservationDemand, ReservationProvider, ReserveResult } from './reservations.ts'
import { errorMessage } from '../util/index.ts'

export type PricingConfig = { table: PriceTableConfig } | { script: ScriptPricingInit }

/**
 * What a running engine may be given anew (a reload of the provider's settings). Omitted fields
 * keep their value; attestations are checked again over the new attributes.
 */
export interface BidTermsUpdate {
  attributes?: Record<string, string>
  attestations?: AuditorAttestation[]
  pricing?: PricingConfig | PricingStrategy
}

export interface BidEngineInit {
  /** the provider's attributes, sent in every bid and matched against orders exactly */
  attributes: Record<string, string>
  /** auditors' signatures over `attributes` and this provider's key; checked at start */
  attestations?: AuditorAttestation[]
  /** a price table, a pricing script, or any PricingStrategy */
  pricing: PricingConfig | PricingStrategy
  /** how long after the order's bid deadline a bid stands, ms */
  bidValidityMs?: number
  /** orders whose deadline is further away get no bid, ms */
  maxBidWindowMs?: number
  /** reservations held at once for open bids */
  maxConcurrentReservations?: number
  /** reservations held at once for open bids on one tenant's orders */
  maxReservationsPerTenant?: number
  /** decisions kept in memory when no store is given */
  maxDecisions?: number
}

export type Labels = Record<string, string>
export interface MarketMetrics {
  counter: (name: string, help: string) => { inc: (labels?: Labels, by?: number) => void }
}

export interface BidEngineComponents {
  /** the provider's key: signs bids */
  identity: Signer
  reservations: ReservationProvider
  clock?: Clock
  /** sends a signed bid to the network */
  publishBid: (signed: SignedMessage<BidBody>) => void | Promise<void>
  store?: DecisionStore
  metrics?: MarketMetrics
}

export interface MarketProgressEvent { type: string, detail?: unknown }

export interface HandleOrderOptions {
  signal?: AbortSignal
  /** `market:order:checked`, `market:order:priced`, `market:order:reserved`, `market:bid:published`, `market:order:declined`, plus the pricing strategy's events */
  onProgress?: (evt: MarketProgressEvent) => void
  /** answer what the engine would do: nothing is reserved, recorded, signed or published */
  dryRun?: boolean
}

export interface HeldReservation {
  order: string
  state: 'open' | 'won'
  expiresAt: number
}

export interface BidEngine {
  /** decides on an order (already opened and verified by the caller) and bids if it can */
  handleOrder: (order: SignedMessage<OrderBody>, opts?: HandleOrderOptions) => Promise<Decision>
  /** what was decided about an order, and why; a unique prefix of at least 8 hex digits finds it too */
  explain: (orderId: string | Uint8Array) => Promise<Decision | undefined>
  /** what the engine would decide about an order not (yet) published: every reason, or the prices it would bid */
  evaluate: (order: SignedMessage<OrderBody>, opts?: { signal?: AbortSignal }) => Promise<Decision>
  /**
   * A lease this provider held before a restart: its capacity is held again, as won, so that
   * closing it gives the capacity back. Answers whether the capacity was there.
   */
  adopt: (orderId: string, tenant: string, demand: ReservationDemand) => Promise<ReserveResult>
  /** the committee chose another bid: capacity goes back */
  onBidLost: (orderId: string | Uint8Array) => Promise<void>
  /**
   * This bid won: the reservation now belongs to the lease and its expiry is cancelled. If the
   * bid had already expired, capacity is reserved again; the answer says whether that worked.
   */
  onLeaseWon: (orderId: string | Uint8Array) => Promise<ReserveResult>
  /** the lease ended: capacity goes back */
  onLeaseClosed: (orderId: string | Uint8Array) => Promise<void>
  /** reservations this engine holds now */
  held: () => HeldReservation[]
  /**
   * New attributes, attestations and prices, all at once or none: everything is checked before
   * anything changes, and a bad update throws a MarketError naming the field. Bids already sent
   * stand as signed; an order being decided finishes on the terms it started with, and the next
   * order gets the new ones.
   */
  reconfigure: (update: BidTermsUpdate) => void
  /** the attributes bids carry now */
  attributes: () => Record<string, string>
  /** releases every open bid's reservation and cancels timers; won leases stay held */
  stop: () => Promise<void>
}

/** one consistent set of what a bid says and costs; replaced whole by reconfigure() */
interface Terms {
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

interface Active {
  decision: Decision
  demand: ReservationDemand
  timer?: Timer
}

const RECENT_RELEASES = 1024

export function bidEngine (init: BidEngineInit): (components: BidEngineComponents) => BidEngine {
  const cfg = readInit(init)
  return (components) => createEngine(cfg, components)
}

interface Config {
  attributes: Record<string, string>
  attestations: AuditorAttestation[]
  pricing: PricingConfig | PricingStrategy
  bidValidityMs: number
  maxBidWindowMs: number
  maxConcurrentReservations: number
  maxReservationsPerTenant: number
  maxDecisions: number
}

function createEngine (cfg: Config, components: BidEngineComponents): BidEngine {
  const { identity, reservations, publishBid } = components
  const clock = components.clock ?? systemClock()
  const store = components.store ?? memoryDecisionStore(cfg.maxDecisions)
  const decisions = components.metrics?.counter(MarketMetricName.DECISIONS, 'orders decided, by outcome and first reason')
  const releases = components.metrics?.counter(MarketMetricName.RESERVATION_RELEASES, 'reservations given back, by why')
  const bounds = components.metrics?.counter(MarketMetricName.BOUND_HIT, 'times a bound on what strangers may add refused something, by bound')

  let terms = makeTerms(identity, cfg.attributes, cfg.attestations, cfg.pricing)
  const retire = (t: Terms): void => {
    t.retired = true
    if (t.users === 0 && t.ownsPricing) t.pricing.stop?.()
  }

  const active = new Map<string, Active>()
  // bids whose reservation went back, in case their lease turns out final anyway (bounded)
  const recent = new Map<string, Active>()
  const inflight = new Map<string, Promise<Decision>>()
  // reservations for open bids, counting those being taken right now; and the same by tenant
  let openCount = 0
  const openByTenant = new Map<string, number>()
  const tenantUp = (t: string): void => { openByTenant.set(t, (openByTenant.get(t) ?? 0) + 1) }
  const tenantDown = (t: string): void => {
    const n = (openByTenant.get(t) ?? 0) - 1
    if (n > 0) openByTenant.set(t, n)
    else openByTenant.delete(t)
  }
  let stopped = false

  // read fresh each time: both can change while a decision awaits pricing or the inventory
  const halted = (opts: HandleOrderOptions): boolean => stopped || opts.signal?.aborted === true
  const abortedReason = (): Reason => ({ code: ReasonCode.ABORTED, message: stopped ? 'the bid engine stopped' : 'aborted' })

  const record = async (d: Decision): Promise<Decision> => {
    await store.put(d)
    return d
  }

  const decline = async (order: SignedMessage<OrderBody>, reasons: Reason[], opts: HandleOrderOptions): Promise<Decision> => {
    const d: Decision = { order: order.idHex, tenant: peerIdOfPublicKey(order.signer), decidedAt: clock.now(), outcome: 'declined', reasons }
    if (opts.dryRun === true) return d
    decisions?.inc({ outcome: 'declined', code: reasons[0]?.code ?? '' })
    opts.onProgress?.({ type: 'market:order:declined', detail: { order: order.idHex, reasons } })
    return record(d)
  }

  const release = async (id: string, state: BidState): Promise<void> => {
    const a = active.get(id)
    if (a == null) return
    active.delete(id)
    a.timer?.cancel()
    if (a.decision.state === 'open') { openCount--; tenantDown(a.decision.tenant) }
    try {
      await reservations.release(id)
    } finally {
      releases?.inc({ reason: state })
      a.decision = { ...a.decision, state, releasedAt: clock.now() }
      if (state !== 'closed') {
        recent.set(id, a)
        if (recent.size > RECENT_RELEASES) recent.delete(recent.keys().next().value as string)
      }
      await store.put(a.decision)
    }
  }

  // one decision, one set of terms: a reload meanwhile takes effect from the next order
  async function decide (order: SignedMessage<OrderBody>, opts: HandleOrderOptions): Promise<Decision> {
    const t = terms
    t.users++
    try {
      return await decideOn(t, order, opts)
    } finally {
      if (--t.users === 0 && t.retired && t.ownsPricing) t.pricing.stop?.()
    }
  }

  async function decideOn (t: Terms, order: SignedMessage<OrderBody>, opts: HandleOrderOptions): Promise<Decision> {
    const { auditors, auditorList, pricing } = t
    const id = order.idHex
    const body = order.body
    const deadlinePassed = (now: number): Reason => ({ code: ReasonCode.DEADLINE_PASSED, message: `bid deadline passed ${now - body.bidDeadline} ms ago` })

    // 1. time
    let now = clock.now()
    if (now >= body.bidDeadline) return decline(order, [deadlinePassed(now)], opts)
    if (body.bidDeadline - now > cfg.maxBidWindowMs) {
      return decline(order, [{ code: ReasonCode.DEADLINE_TOO_FAR, message: `bid deadline is ${body.bidDeadline - now} ms away; this provider bids on orders closing within ${cfg.maxBidWindowMs} ms` }], opts)
    }

    // 2. attributes and auditors, every group, every failure
    const reasons: Reason[] = []
    for (const g of body.groups) {
      for (const [k, v] of Object.entries(g.attributes)) {
        const have = t.attributes[k]
        if (have === v) continue
        reasons.push({
          code: ReasonCode.MISSING_ATTRIBUTE,
          group: g.name,
          message: `${k}=${v} required by group ${g.name}, provider has ${have === undefined ? `no ${k}` : `${k}=${have}`}`
        })
      }
      for (const a of g.signedBy.allOf) {
        if (auditors.has(auditorName(a))) continue
        reasons.push({ code: ReasonCode.MISSING_AUDITOR, group: g.name, message: `group ${g.name} requires an attestation by ${a}; provider holds ${describeAuditors(auditorList)}` })
      }
      if (g.signedBy.anyOf.length > 0 && !g.signedBy.anyOf.some((a) => auditors.has(auditorName(a)))) {
        reasons.push({ code: ReasonCode.MISSING_AUDITOR, group: g.name, message: `group ${g.name} requires an attestation by one of ${g.signedBy.anyOf.join(', ')}; provider holds ${describeAuditors(auditorList)}` })
      }
    }
    // 3. capacity, without holding it yet: a tenant hears every reason, the ones no price can fix first
    const demand: ReservationDemand = { order: id, groups: body.groups.map((g) => ({ name: g.name, resources: g.resources })) }
    if (reservations.check != null) {
      try {
        reasons.push(...await reservations.check(demand))
      } catch (err) {
        reasons.push({ code: ReasonCode.RESERVATION_FAILED, message: `capacity check failed: ${errorMessage(err)}` })
      }
    }
    if (reasons.length === 0) opts.onProgress?.({ type: 'market:order:checked', detail: { order: id } })

    // 4. price
    const req: PricingRequest = {
      order: id,
      tenant: peerIdOfPublicKey(order.signer),
      bidDeadline: body.bidDeadline,
      groups: body.groups,
      provider: { attributes: t.attributes }
    }
    let prices: Price[] = []
    try {
      prices = await pricing.price(req, { signal: opts.signal, onProgress: opts.onProgress })
      if (!Array.isArray(prices) || prices.length !== body.groups.length) {
        throw new PricingError(ReasonCode.PRICING_FAILED, `pricing gave ${Array.isArray(prices) ? prices.length : 'no'} prices for ${body.groups.length} groups`)
      }
      prices.forEach((p, i) => {
        try { parseAmount(p.amount) } catch (err) { throw new PricingError(ReasonCode.PRICING_FAILED, `price for group ${body.groups[i].name}: ${errorMessage(err)}`) }
      })
      body.groups.forEach((g, i) => {
        const p = prices[i]
        if (p.denom !== g.maxPrice.denom) {
          reasons.push({ code: ReasonCode.DENOM_MISMATCH, group: g.name, message: `group ${g.name} pays in ${g.maxPrice.denom}, provider prices in ${p.denom}` })
        } else if (parseAmount(p.amount) > parseAmount(g.maxPrice.amount)) {
          reasons.push({ code: ReasonCode.PRICE_ABOVE_MAX, group: g.name, message: `price ${p.amount} > max ${g.maxPrice.amount} ${p.denom} for group ${g.name}` })
        }
      })
    } catch (err) {
      const code = err instanceof PricingError ? err.reason : ReasonCode.PRICING_FAILED
      reasons.push({ code, message: errorMessage(err) })
    }
    if (reasons.length > 0) return decline(order, reasons, opts)
    opts.onProgress?.({ type: 'market:order:priced', detail: { order: id, prices } })
    if (opts.dryRun === true) return { order: id, tenant: req.tenant, decidedAt: clock.now(), outcome: 'bid', reasons: [], prices }

    // pricing may have taken a while
    now = clock.now()
    if (halted(opts)) return decline(order, [abortedReason()], opts)
    if (now >= body.bidDeadline) return decline(order, [deadlinePassed(now)], opts)

    // 4. capacity, reserved before the bid exists
    if (openCount >= cfg.maxConcurrentReservations) {
      bounds?.inc({ bound: 'reservations' })
      return decline(order, [{ code: ReasonCode.TOO_MANY_RESERVATIONS, message: `already holding ${openCount} reservations for open bids (limit ${cfg.maxConcurrentReservations})` }], opts)
    }
    const tenantOpen = openByTenant.get(req.tenant) ?? 0
    if (tenantOpen >= cfg.maxReservationsPerTenant) {
      bounds?.inc({ bound: 'reservations-per-tenant' })
      return decline(order, [{ code: ReasonCode.TENANT_RESERVATIONS, message: `already holding ${tenantOpen} reservations for open bids on this tenant's orders (limit ${cfg.maxReservationsPerTenant} per tenant)` }], opts)
    }
    openCount++
    tenantUp(req.tenant)
    let res: ReserveResult
    try {
      res = await reservations.reserve(id, demand)
    } catch (err) {
      openCount--
      tenantDown(req.tenant)
      return decline(order, [{ code: ReasonCode.RESERVATION_FAILED, message: `reservation failed: ${errorMessage(err)}` }], opts)
    }
    if (!res.ok) {
      openCount--
      tenantDown(req.tenant)
      return decline(order, [{ code: res.code, message: res.message }], opts)
    }
    const decision: Decision = { order: id, tenant: req.tenant, decidedAt: clock.now(), outcome: 'bid', reasons: [], prices, state: 'open' }
    const entry: Active = { decision, demand }
    active.set(id, entry)
    opts.onProgress?.({ type: 'market:order:reserved', detail: { order: id } })

    const giveBack = async (reason: Reason, state: BidState): Promise<Decision> => {
      await release(id, state)
      return decline(order, [reason], opts)
    }
    now = clock.now()
    if (halted(opts)) return giveBack(abortedReason(), 'stopped')
    if (now >= body.bidDeadline) return giveBack(deadlinePassed(now), 'expired')

    // 5. sign and send
    const expiresAt = body.bidDeadline + cfg.bidValidityMs
    let signed: SignedMessage<BidBody>
    try {
      signed = signMessage<BidBody>(identity, MessageTag.BID, {
        order: order.id,
        prices,
        attributes: t.attributes,
        auditors: t.attestations,
        expiresAt
      }, { createdAt: now })
    } catch (err) {
      return giveBack({ code: ReasonCode.PUBLISH_FAILED, message: `bid could not be signed: ${errorMessage(err)}` }, 'stopped')
    }
    entry.decision = { ...decision, bid: signed.idHex, expiresAt }
    // a failing inventory must not become an unhandled rejection inside a timer; the entry is gone either way
    entry.timer = clock.schedule(expiresAt - now, () => { expire(id).catch(() => {}) })
    try {
      await publishBid(signed)
    } catch (err) {
      return giveBack({ code: ReasonCode.PUBLISH_FAILED, message: `bid could not be published: ${errorMessage(err)}` }, 'stopped')
    }
    decisions?.inc({ outcome: 'bid', code: '' })
    opts.onProgress?.({ type: 'market:bid:published', detail: { order: id, bid: signed.idHex, prices } })
    // a lost/won/closed notice may already have changed the entry while publishing
    return record(entry.decision)
  }

  async function expire (id: string): Promise<void> {
    const a = active.get(id)
    if (a == null || a.decision.state !== 'open') return
    await release(id, 'expired')
  }

  const hex = (id: string | Uint8Array): string => typeof id === 'string' ? id.toLowerCase() : toHex(id)

  return {
    async handleOrder (order, opts = {}) {
      if (stopped) throw new MarketError(MarketErrorCode.STOPPED, 'the bid engine is stopped')
      const id = order.idHex
      const running = inflight.get(id)
      if (running != null) return running
      const held = active.get(id)
      if (held != null) return held.decision
      // registered before any await, so a second delivery of the order joins this one
      const p = (async () => await store.get(id) ?? await decide(order, opts))().finally(() => { inflight.delete(id) })
      inflight.set(id, p)
      return p
    },

    async explain (orderId) {
      const id = hex(orderId)
      const exact = active.get(id)?.decision ?? await store.get(id)
      if (exact != null || typeof orderId !== 'string' || id.length >= 64) return exact
      // a short ID: the one held or recorded order it begins (the CLI prints 12 hex digits)
      const held = [...active.keys()].filter((k) => k.startsWith(id))
      const found = held.length > 0 ? held : await store.find?.(id) ?? []
      if (found.length > 1) throw new MarketError(MarketErrorCode.AMBIGUOUS_ID, `${found.length} orders begin with ${id}; give more digits`)
      return found.length === 1 ? active.get(found[0])?.decision ?? await store.get(found[0]) : undefined
    },

    async evaluate (order, opts = {}) {
      if (stopped) throw new MarketError(MarketErrorCode.STOPPED, 'the bid engine is stopped')
      return await decide(order, { signal: opts.signal, dryRun: true })
    },

    async adopt (orderId, tenant, demand) {
      const id = hex(orderId)
      if (active.has(id)) return { ok: true }
      let res: ReserveResult
      try {
        res = await reservations.reserve(id, demand)
      } catch (err) {
        res = { ok: false, code: ReasonCode.RESERVATION_FAILED, message: `reservation failed: ${errorMessage(err)}` }
      }
      // the containers run and use the host whether or not the books say they fit: hold the lease as won either way
      const decision: Decision = { order: id, tenant, decidedAt: clock.now(), outcome: 'bid', reasons: [], state: 'won' }
      active.set(id, { decision, demand })
      return res
    },

    async onBidLost (orderId) {
      const id = hex(orderId)
      if (active.get(id)?.decision.state === 'open') await release(id, 'lost')
    },

    async onLeaseWon (orderId) {
      const id = hex(orderId)
      const a = active.get(id)
      if (a != null) {
        if (a.decision.state === 'open') {
          a.timer?.cancel()
          a.timer = undefined
          openCount--
          tenantDown(a.decision.tenant)
          a.decision = { ...a.decision, state: 'won' }
          await store.put(a.decision)
        }
        return { ok: true }
      }
      // the bid lapsed (its reservation went back) before the lease was final: take it again
      const r = recent.get(id)
      if (r == null) return { ok: false, code: ReasonCode.RESERVATION_FAILED, message: `no bid of this provider for order ${id} is known` }
      let res: ReserveResult
      try {
        res = await reservations.reserve(id, r.demand)
      } catch (err) {
        res = { ok: false, code: ReasonCode.RESERVATION_FAILED, message: `reservation failed: ${errorMessage(err)}` }
      }
      if (res.ok) {
        recent.delete(id)
        const decision: Decision = { ...r.decision, state: 'won' }
        delete decision.releasedAt
        active.set(id, { decision, demand: r.demand })
        await store.put(decision)
      }
      return res
    },

    async onLeaseClosed (orderId) {
      const id = hex(orderId)
      if (active.has(id)) await release(id, 'closed')
    },

    reconfigure (update) {
      if (stopped) throw new MarketError(MarketErrorCode.STOPPED, 'the bid engine is stopped')
      if (update == null || typeof update !== 'object') throw new MarketError(MarketErrorCode.CONFIG, 'must be an object', 'market')
      const attributes = update.attributes !== undefined ? checkAttributes(update.attributes) : terms.attributes
      const attestations = update.attestations !== undefined ? checkAttestations(update.attestations) : terms.attestations
      if (update.pricing !== undefined) checkPricing(update.pricing)
      const keep = update.pricing === undefined
      // attestations are checked and the new strategy built (a price table read) before anything changes
      const next = makeTerms(identity, attributes, attestations, keep ? terms.pricing : update.pricing!)
      // the strategy carried over stays ours to stop, with the terms that now hold it
      if (keep) { next.ownsPricing = terms.ownsPricing; terms.ownsPricing = false }
      const old = terms
      terms = next
      retire(old)
    },

    attributes () {
      return { ...terms.attributes }
    },

    held () {
      return [...active.values()].map((a) => ({ order: a.decision.order, state: a.decision.state === 'won' ? 'won' : 'open', expiresAt: a.decision.expiresAt ?? 0 }))
    },

    async stop () {
      stopped = true
      const open = [...active.entries()].filter(([, a]) => a.decision.state === 'open').map(([id]) => id)
      for (const id of open) await release(id, 'stopped')
      // at once, not when the decisions under way end: a pricing script running now is killed
      terms.retired = true
      if (terms.ownsPricing) terms.pricing.stop?.()
    }
  }
}

function describeAuditors (list: string[]): string {
  return list.length === 0 ? 'no attestations' : `attestations by ${list.join(', ')}`
}

function isStrategy (p: PricingConfig | PricingStrategy): p is PricingStrategy {
  return typeof (p as PricingStrategy).price === 'function'
}

function readInit (init: BidEngineInit): Config {
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

function checkAttributes (attrs: unknown): Record<string, string> {
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

function checkAttestations (list: unknown): AuditorAttestation[] {
  if (!Array.isArray(list) || list.length > MAX_AUDITORS) {
    throw new MarketError(MarketErrorCode.CONFIG, `must be a list of at most ${MAX_AUDITORS} attestations`, 'attestations')
  }
  return [...list]
}

function checkPricing (p: unknown): void {
  if (p == null || typeof p !== 'object' || (!isStrategy(p as PricingStrategy) && !('table' in p) && !('script' in p))) {
    throw new MarketError(MarketErrorCode.CONFIG, 'must be { table: … }, { script: … } or a pricing strategy', 'pricing')
  }
}

/** checks the attestations over the attributes and builds the strategy; throws before anything is kept */
function makeTerms (identity: Signer, attributes: Record<string, string>, attestations: AuditorAttestation[], pricing: PricingConfig | PricingStrategy): Terms {
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
