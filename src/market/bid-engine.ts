// The provider's bid engine. For each order it checks, cheapest first: the deadline, the
// required attributes and auditors, the price against each group's maxPrice, and finally free
// capacity, which it reserves before the bid goes out. Every order gets a recorded decision:
// a bid with its prices, or the reasons there was none. A reservation is given back the moment
// its bid is lost or expires, or its lease closes; nothing is held on "just in case".
// The checks are in bid-checks.ts, pricing in bid-pricing.ts, settings and terms in bid-terms.ts;
// this file holds the reservations, signs and publishes.
import { MessageTag, signMessage, toHex } from '../wire/index.ts'
import type { BidBody, OrderBody, SignedMessage } from '../wire/index.ts'
import { peerIdOfPublicKey } from '../identity/index.ts'
import { systemClock } from './clock.ts'
import type { Timer } from './clock.ts'
import { MarketMetricName, ReasonCode } from './constants.ts'
import { memoryDecisionStore } from './decisions.ts'
import type { BidState, Decision, Reason } from './decisions.ts'
import { MarketError, MarketErrorCode } from './errors.ts'
import type { PricingRequest } from './pricing/strategy.ts'
import type { ReservationDemand, ReserveResult } from './reservations.ts'
import type { BidEngine, BidEngineComponents, BidEngineInit, HandleOrderOptions } from './bid-types.ts'
import { checkAttestations, checkAttributes, checkPricing, makeTerms, readInit } from './bid-terms.ts'
import type { Config, Terms } from './bid-terms.ts'
import { checkCapacity, checkDeadline, checkGroups, deadlinePassed } from './bid-checks.ts'
import { priceOrder } from './bid-pricing.ts'
import { errorMessage } from '../util/index.ts'

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
    const id = order.idHex
    const body = order.body

    // 1. time
    let now = clock.now()
    const late = checkDeadline(body, now, cfg.maxBidWindowMs)
    if (late != null) return decline(order, [late], opts)

    // 2. attributes and auditors; 3. capacity, without holding it yet: a tenant hears every reason, the ones no price can fix first
    const demand: ReservationDemand = { order: id, groups: body.groups.map((g) => ({ name: g.name, resources: g.resources })) }
    const reasons: Reason[] = [...checkGroups(t, body), ...await checkCapacity(reservations, demand)]
    if (reasons.length === 0) opts.onProgress?.({ type: 'market:order:checked', detail: { order: id } })

    // 4. price
    const req: PricingRequest = {
      order: id,
      tenant: peerIdOfPublicKey(order.signer),
      bidDeadline: body.bidDeadline,
      groups: body.groups,
      provider: { attributes: t.attributes }
    }
    const priced = await priceOrder(t.pricing, req, body, opts)
    const prices = priced.prices
    reasons.push(...priced.reasons)
    if (reasons.length > 0) return decline(order, reasons, opts)
    opts.onProgress?.({ type: 'market:order:priced', detail: { order: id, prices } })
    if (opts.dryRun === true) return { order: id, tenant: req.tenant, decidedAt: clock.now(), outcome: 'bid', reasons: [], prices }

    // pricing may have taken a while
    now = clock.now()
    if (halted(opts)) return decline(order, [abortedReason()], opts)
    if (now >= body.bidDeadline) return decline(order, [deadlinePassed(body, now)], opts)

    // 5. capacity, reserved before the bid exists
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
    if (now >= body.bidDeadline) return giveBack(deadlinePassed(body, now), 'expired')

    // 6. sign and send
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
