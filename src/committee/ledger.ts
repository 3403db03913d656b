// The deterministic state every validator derives from the final batches: open and closing orders
// and their bids, auction tallies, leases, closes, membership changes and the committee of every
// height. `plan` computes a batch's outcome without changing anything (proposers and voters both
// need it); `apply` makes it so once the batch is final. Nothing here reads a clock or the
// network. Everything a stranger can add is bounded (constants.ts, Bounds).
import type { SignedMessage } from '../wire/envelope.ts'
import type { OrderBody } from '../wire/messages/order.ts'
import type { BidBody } from '../wire/messages/bid.ts'
import type { CloseBody } from '../wire/messages/close.ts'
import type { Price } from '../wire/schema.ts'
import { encodeCbor } from '../wire/codec.ts'
import { MessageTag, MAX_CLOCK_SKEW_MS, MAX_MESSAGE_AGE_MS } from '../wire/constants.ts'
import { buildCommittee } from './committee-file.ts'
import type { CommitteeInfo } from './committee-file.ts'
import type { ApproveBody, ChangeBody } from './messages.ts'
import { ChangeAction, CommitteeTag, EPOCH_DELAY, MAX_BATCH_ITEMS, MAX_TALLY_ORDERS, CLOSE_TIMEOUT_MS, Bounds } from './constants.ts'
import type { TallyBody } from './messages.ts'
import { match } from './matching.ts'
import { tallyEntry, tallyCounts, namedBids, tallyNeed } from './auction.ts'
import type { Closing, TallyEntry } from './auction.ts'
import type { BidCandidate } from './matching.ts'
import { leaseLeaf, merkleRoot } from './merkle.ts'
import { ProviderRecords } from './record.ts'
import type { CloseCode } from '../wire/constants.ts'
import { EMPTY32, equal, hex, sha256 } from './bytes.ts'

export const ITEM_TAGS: readonly string[] = [MessageTag.ORDER, MessageTag.BID, MessageTag.CLOSE, CommitteeTag.CHANGE, CommitteeTag.APPROVE, CommitteeTag.TALLY]

export interface Lease {
  order: Uint8Array
  bid: Uint8Array
  tenant: Uint8Array
  provider: Uint8Array
  prices: Price[]
  /** height of the batch that decided it, and its index among that batch's leases */
  height: number
  index: number
}

export const ExpiryCode = {
  NO_BIDS: 'no-bids',
  NO_FITTING_BID: 'no-fitting-bid',
  LATE: 'ordered-after-deadline',
  /** the ledger holds as many open orders as it keeps (all, or of this tenant) */
  FULL: 'committee-full',
  /** the bid deadline lies further ahead than any bid window a node accepts */
  TOO_FAR: 'deadline-too-far'
} as const
export type ExpiryCode = typeof ExpiryCode[keyof typeof ExpiryCode]

export interface Expiry { order: Uint8Array, tenant: Uint8Array, code: ExpiryCode, reason: string, height: number }
export interface Closure { order: Uint8Array, by: Uint8Array, reason: string, close: Uint8Array, height: number, code?: CloseCode }

interface OrderEntry { msg: SignedMessage<OrderBody>, time: number, bids: BidCandidate[], tenant: string, closing?: number }
interface ChangeEntry { msg: SignedMessage<ChangeBody>, approvals: Set<string>, approved: boolean }
/** `close`: the ID of the Close that ended it (the item is in the batch that ordered it) */
interface LeaseEntry { tenant: Uint8Array, provider: Uint8Array, closed: boolean, close?: Uint8Array }

export interface Plan {
  height: number
  time: number
  committee: CommitteeInfo
  items: SignedMessage[]
  leases: Lease[]
  leaves: Uint8Array[]
  leaseRoot: Uint8Array
  expired: Expiry[]
  closed: Closure[]
  /** change IDs (hex) that reached their approvals in this batch */
  approved: string[]
  /** height the next epoch starts at, once scheduled */
  transitionAt?: number
  /** the next epoch's committee, when this is the last batch of the epoch */
  next?: CommitteeInfo
  outcomes: Uint8Array
  /** orders whose auction closes in this batch: the validators tally them */
  closing: string[]
  // what apply() adds
  newOrders: OrderEntry[]
  newBids: Array<[string, BidCandidate]>
  newChanges: ChangeEntry[]
  newApprovals: Array<[string, string]>
  newTallies: Array<[number, TallyEntry]>
  resolved: string[]
  /** how often a bound of the ledger bit in this batch */
  bounded: { orders: number, deadlines: number, bids: number }
}

function byHex<T extends { order: Uint8Array }> (a: T, b: T): number {
  const x = hex(a.order); const y = hex(b.order)
  return x < y ? -1 : x > y ? 1 : 0
}

export interface PendingChange { id: string, action: string, validator: Uint8Array, epoch: number, approvals: number, approved: boolean }

export class Ledger {
  height = 0
  /** header hash of the last final batch (zeros before height 1) */
  head: Uint8Array = EMPTY32
  /** committee time of the last final batch */
  time: number
  readonly committees: CommitteeInfo[]
  private readonly orders = new Map<string, OrderEntry>()
  /** open and closing orders per tenant (hex) */
  private readonly perTenant = new Map<string, number>()
  /** auctions that closed and wait for their tallies, by the height they closed at */
  private readonly closings = new Map<number, Closing>()
  /** open (not yet closing) orders by deadline; sorted lazily */
  private deadlines: Array<[number, string]> = []
  private deadlinesSorted = true
  private readonly leases = new Map<string, LeaseEntry>()
  /** IDs of every item ordered within the freshness window, with their creation time */
  private readonly included = new Map<string, number>()
  private readonly changes = new Map<string, ChangeEntry>()
  /** every provider's record (record.ts): as of the last final batch */
  readonly records = new ProviderRecords()

  /** membership changes ordered so far, with the approvals counted for each */
  pendingChanges (): PendingChange[] {
    return [...this.changes.values()].map((c) => ({
      id: c.msg.idHex, action: c.msg.body.action, validator: c.msg.body.validator, epoch: c.msg.body.epoch, approvals: c.approvals.size, approved: c.approved
    }))
  }
  /** whether a join request by this key is ordered in the current epoch */
  joining (keyHex: string): boolean {
    for (const c of this.changes.values()) if (c.msg.body.action === ChangeAction.JOIN && hex(c.msg.body.validator) === keyHex) return true
    return false
  }

  private transitionAt: number | undefined
  private readonly transitionChanges: string[] = []

  constructor (genesis: CommitteeInfo) {
    this.committees = [genesis]
    this.time = genesis.genesisTime
  }

  get genesis (): CommitteeInfo { return this.committees[0] }
  get chain (): Uint8Array { return this.committees[0].chain }
  get openOrders (): number { return this.orders.size }
  /** auctions closed and not yet settled (waiting for tallies or for the bids they name) */
  get closingOrders (): number { let n = 0; for (const c of this.closings.values()) n += c.orders.filter((o) => this.orders.has(o)).length; return n }
  /** the closes waiting for tallies, oldest first */
  pendingClosings (): Closing[] { return [...this.closings.values()].sort((a, b) => a.height - b.height) }
  /** whether an order's auction has closed (it waits for its tallies) */
  isClosing (idHex: string): boolean { return this.orders.get(idHex)?.closing != null }
  /** a closing order whose tallies are all in: what they did not name can no longer count */
  talliesIn (idHex: string): boolean { const h = this.orders.get(idHex)?.closing; const cl = h == null ? undefined : this.closings.get(h); return cl != null && cl.tallies.length >= cl.committee.threshold }
  /** an open or closing order */
  orderOf (idHex: string): SignedMessage<OrderBody> | undefined { return this.orders.get(idHex)?.msg }
  /** the bids recorded for an open or closing order, with the committee time of the batch that ordered each */
  bidCandidates (idHex: string): readonly BidCandidate[] { return this.orders.get(idHex)?.bids ?? [] }
  /** the bids recorded for an open or closing order: ID (hex) → committee time of the batch that ordered it */
  bidsOf (idHex: string): Map<string, number> {
    const out = new Map<string, number>()
    for (const b of this.orders.get(idHex)?.bids ?? []) out.set(b.msg.idHex, b.time)
    return out
  }

  /**
   * The bids the tallies made count that no batch has ordered yet (order hex → bid IDs): a
   * proposer carries them, or asks for them, so that the order can settle.
   */
  neededBids (): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>()
    for (const c of this.closings.values()) {
      if (c.tallies.length < c.committee.threshold) continue
      const need = tallyNeed(c, c.tallies.length)
      for (const o of c.orders) {
        const e = this.orders.get(o)
        if (e == null) continue
        const have = new Set(e.bids.map((b) => b.msg.idHex))
        const missing = [...namedBids(c.tallies, o, need)].filter((b) => !have.has(b))
        if (missing.length > 0) out.set(o, new Set(missing))
      }
    }
    return out
  }
  get pendingTransition (): number | undefined { return this.transitionAt }

  committeeAt (height: number): CommitteeInfo {
    for (let i = this.committees.length - 1; i >= 0; i--) {
      if (this.committees[i].startHeight <= height) return this.committees[i]
    }
    return this.committees[0]
  }

  /** whether an item was ordered already */
  isIncluded (idHex: string): boolean { return this.included.has(idHex) }
  /** an open (not yet matched or expired) order */
  isOpenOrder (idHex: string): boolean { return this.orders.has(idHex) }
  /** the bid deadline of an open order */
  deadlineOf (idHex: string): number | undefined { return this.orders.get(idHex)?.msg.body.bidDeadline }
  /** the earliest bid deadline of the open orders */
  nextDeadline (): number | undefined {
    this.sortDeadlines()
    for (const [d, o] of this.deadlines) if (this.orders.get(o)?.closing == null && this.orders.has(o)) return d
    return undefined
  }

  leaseOf (orderHex: string): LeaseEntry | undefined { return this.leases.get(orderHex) }
  /** a membership change ordered in the current epoch */
  hasChange (idHex: string): boolean { return this.changes.has(idHex) }

  /** Why an item may not go into a batch with committee time `time`; undefined when it may. */
  itemProblem (msg: SignedMessage, time: number): string | undefined {
    if (!ITEM_TAGS.includes(msg.tag)) return `${msg.tag} is not an item a batch carries`
    if (this.included.has(msg.idHex)) return 'already ordered'
    if (msg.createdAt > time + MAX_CLOCK_SKEW_MS) return 'created after the batch time (beyond the allowed skew)'
    if (msg.createdAt < time - MAX_MESSAGE_AGE_MS) return 'too old'
    return undefined
  }

  /** The outcome of a batch at `height` with committee `time` carrying `items`. Pure. */
  plan (height: number, time: number, items: readonly SignedMessage[]): Plan {
    if (height !== this.height + 1) throw new Error(`plan for height ${height} while the ledger is at ${this.height}`)
    if (items.length > MAX_BATCH_ITEMS) throw new Error('too many items')
    const committee = this.committeeAt(height)
    const newOrders: OrderEntry[] = []
    const newOrderIdx = new Map<string, OrderEntry>()
    const newBids: Array<[string, BidCandidate]> = []
    const closed: Closure[] = []
    const closing = new Set<string>()
    const newChanges: ChangeEntry[] = []
    const newApprovals: Array<[string, string]> = []
    const newTallies: Array<[number, TallyEntry]> = []
    const expired: Expiry[] = []
    const bounded = { orders: 0, deadlines: 0, bids: 0 }

    // orders first: those that can never be matched expire at once, with a reason
    let open = this.orders.size
    const tenants = new Map<string, number>()
    for (const m of items) {
      if (m.tag !== MessageTag.ORDER) continue
      const o = m as SignedMessage<OrderBody>
      const tenant = hex(o.signer)
      const mine = (this.perTenant.get(tenant) ?? 0) + (tenants.get(tenant) ?? 0)
      const late = (code: ExpiryCode, reason: string): void => { expired.push({ order: o.id, tenant: o.signer, code, reason, height }) }
      if (o.body.bidDeadline <= time) late(ExpiryCode.LATE, `the order was ordered at committee time ${time}, after its bid deadline ${o.body.bidDeadline}`)
      else if (o.body.bidDeadline > time + Bounds.LEDGER_MAX_BID_WINDOW_MS) { bounded.deadlines++; late(ExpiryCode.TOO_FAR, `its bid deadline ${o.body.bidDeadline} lies more than ${Bounds.LEDGER_MAX_BID_WINDOW_MS} ms after committee time ${time}`) }
      else if (open >= Bounds.LEDGER_OPEN_ORDERS) { bounded.orders++; late(ExpiryCode.FULL, `the committee holds ${Bounds.LEDGER_OPEN_ORDERS} open orders`) }
      else if (mine >= Bounds.LEDGER_OPEN_ORDERS_PER_TENANT) { bounded.orders++; late(ExpiryCode.FULL, `the tenant has ${Bounds.LEDGER_OPEN_ORDERS_PER_TENANT} open orders`) }
      else {
        const e: OrderEntry = { msg: o, time, bids: [], tenant }
        newOrders.push(e)
        newOrderIdx.set(m.idHex, e)
        tenants.set(tenant, (tenants.get(tenant) ?? 0) + 1)
        open++
      }
    }
    const bidCount = new Map<string, number>()
    const talliesIn = new Map<number, TallyEntry[]>()
    for (const m of items) {
      if (m.tag === MessageTag.BID) {
        // a bid is recorded for an open or closing order (a closing one may still need it), up to a bound
        const b = m as SignedMessage<BidBody>
        const o = hex(b.body.order)
        const e = this.orders.get(o) ?? newOrderIdx.get(o)
        if (e == null) continue
        const n = (bidCount.get(o) ?? e.bids.length) + 1
        if (n > Bounds.LEDGER_BIDS_PER_ORDER) { bounded.bids++; continue }
        bidCount.set(o, n)
        newBids.push([o, { msg: b, time }])
      } else if (m.tag === MessageTag.CLOSE) {
        const c = m as SignedMessage<CloseBody>
        const o = hex(c.body.lease)
        const l = this.leases.get(o)
        if (l == null || l.closed || closing.has(o)) continue
        if (!equal(c.signer, l.tenant) && !equal(c.signer, l.provider)) continue
        closing.add(o)
        closed.push({ order: c.body.lease, by: c.signer, reason: c.body.reason, close: c.id, height, ...(c.body.code != null ? { code: c.body.code } : {}) })
      } else if (m.tag === CommitteeTag.CHANGE) {
        const c = m as SignedMessage<ChangeBody>
        if (c.body.epoch !== committee.epoch || !equal(c.signer, c.body.validator)) continue
        if (this.changes.size + newChanges.length >= Bounds.LEDGER_CHANGES_PER_EPOCH) continue
        newChanges.push({ msg: c, approvals: new Set(), approved: false })
      } else if (m.tag === CommitteeTag.APPROVE) {
        const a = m as SignedMessage<ApproveBody>
        if (a.body.epoch !== committee.epoch || !committee.index.has(hex(a.signer))) continue
        newApprovals.push([hex(a.body.change), hex(a.signer)])
      } else if (m.tag === CommitteeTag.TALLY) {
        const t = m as SignedMessage<TallyBody>
        const cl = this.closings.get(t.body.height)
        const counted = [...(cl?.tallies ?? []), ...(talliesIn.get(t.body.height) ?? [])]
        if (!tallyCounts(t, cl, counted)) continue
        const entry = tallyEntry(t)
        newTallies.push([t.body.height, entry])
        talliesIn.set(t.body.height, [...(talliesIn.get(t.body.height) ?? []), entry])
      }
    }

    // membership: count approvals (existing and new) per change of this epoch
    const approved: string[] = []
    const pendingChanges = new Map<string, ChangeEntry>(this.changes)
    for (const c of newChanges) pendingChanges.set(c.msg.idHex, c)
    const counts = new Map<string, Set<string>>()
    for (const [cid, who] of newApprovals) {
      const c = pendingChanges.get(cid)
      if (c == null || c.approved) continue
      const s = counts.get(cid) ?? new Set(c.approvals)
      s.add(who)
      counts.set(cid, s)
    }
    for (const [cid, s] of counts) {
      if (s.size >= committee.threshold && this.changeApplies(pendingChanges.get(cid) as ChangeEntry, committee)) approved.push(cid)
    }
    approved.sort()
    let transitionAt = this.transitionAt
    if (transitionAt == null && approved.length > 0) transitionAt = height + EPOCH_DELAY
    if (transitionAt != null && height >= transitionAt) {
      // approvals that come after the last batch of the epoch must be asked again of the next one
      approved.length = 0
    }
    let next: CommitteeInfo | undefined
    if (transitionAt != null && height === transitionAt - 1) {
      next = this.nextCommittee(committee, [...this.transitionChanges, ...approved], pendingChanges, transitionAt)
    }

    // auctions that close now: every open order whose deadline has come (a bounded number per batch)
    const closingNow: string[] = []
    this.sortDeadlines()
    for (const [deadline, o] of this.deadlines) {
      if (deadline > time || closingNow.length >= MAX_TALLY_ORDERS) break
      const e = this.orders.get(o)
      if (e == null || e.closing != null) continue
      closingNow.push(o)
    }

    // settlement: a closed auction settles once the first `threshold` tallies are ordered and every
    // bid f+1 of them name is recorded (or, after the close timeout, with what is there)
    const leases: Lease[] = []
    const resolved: string[] = []
    const newBidsOf = new Map<string, BidCandidate[]>()
    for (const [o, b] of newBids) newBidsOf.set(o, [...(newBidsOf.get(o) ?? []), b])
    for (const cl of this.pendingClosings()) {
      const tallies = [...cl.tallies, ...(talliesIn.get(cl.height) ?? [])]
      const complete = tallies.length >= cl.committee.threshold
      const timedOut = time - cl.time >= CLOSE_TIMEOUT_MS
      if (!complete && !timedOut) continue
      const need = tallyNeed(cl, tallies.length)
      for (const o of cl.orders) {
        const e = this.orders.get(o)
        if (e == null) continue
        const counted = namedBids(tallies, o, need)
        const present = [...e.bids, ...(newBidsOf.get(o) ?? [])].filter((b) => counted.has(b.msg.idHex))
        if (present.length < counted.size && !timedOut) continue
        resolved.push(o)
        this.resolve(e, present, cl.seed, height, leases, expired)
      }
    }
    leases.sort(byHex)
    leases.forEach((l, i) => { l.index = i })
    expired.sort(byHex)
    closed.sort(byHex)
    const leaves = leases.map(leaseLeaf)
    const outcomes = sha256(encodeCbor([
      expired.map((x) => [x.order, x.code]),
      closed.map((x) => [x.order, x.close]),
      approved,
      transitionAt ?? 0
    ]))
    return {
      height,
      time,
      committee,
      items: [...items],
      leases,
      leaves,
      leaseRoot: merkleRoot(leaves),
      expired,
      closed,
      approved,
      transitionAt,
      next,
      outcomes,
      closing: closingNow,
      newOrders,
      newBids,
      newChanges,
      newApprovals,
      newTallies,
      resolved,
      bounded
    }
  }

  private changeApplies (c: ChangeEntry, committee: CommitteeInfo): boolean {
    const member = committee.index.has(hex(c.msg.body.validator))
    return c.msg.body.action === ChangeAction.JOIN ? !member : member
  }

  private resolve (e: OrderEntry, counted: readonly BidCandidate[], seed: Uint8Array, height: number, leases: Lease[], expired: Expiry[]): void {
    // the record as of the batch before this one: apply() moves it only once this batch is final
    const r = match(e.msg.id, e.msg.body, counted, seed, this.records.lookup)
    if (r.winner != null) {
      const b = r.winner.msg
      leases.push({ order: e.msg.id, bid: b.id, tenant: e.msg.signer, provider: b.signer, prices: b.body.prices, height, index: 0 })
    } else if (r.counted === 0) {
      expired.push({ order: e.msg.id, tenant: e.msg.signer, code: ExpiryCode.NO_BIDS, reason: 'no bid was held in time by the validators', height })
    } else {
      expired.push({ order: e.msg.id, tenant: e.msg.signer, code: ExpiryCode.NO_FITTING_BID, reason: `${r.counted} bid(s) arrived in time; none fits: ${r.misfits.join('; ')}`, height })
    }
  }

  private nextCommittee (cur: CommitteeInfo, ids: string[], changes: Map<string, ChangeEntry>, startHeight: number): CommitteeInfo {
    const leave = new Set<string>()
    const join: Uint8Array[] = []
    for (const id of ids) {
      const c = changes.get(id)
      if (c == null) continue
      const k = hex(c.msg.body.validator)
      if (c.msg.body.action === ChangeAction.LEAVE) leave.add(k)
      else if (!join.some((j) => hex(j) === k)) join.push(c.msg.body.validator)
    }
    join.sort((a, b) => hex(a) < hex(b) ? -1 : 1)
    let validators = [...cur.validators.filter((v) => !leave.has(hex(v))), ...join]
    if (validators.length === 0) validators = [...cur.validators] // a committee never empties itself
    return buildCommittee({ chain: cur.chain, epoch: cur.epoch + 1, startHeight, genesisTime: cur.genesisTime, previous: cur.hash, validators })
  }

  private sortDeadlines (): void {
    if (this.deadlinesSorted) return
    this.deadlines.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    this.deadlinesSorted = true
  }

  /** Makes a planned batch final. `head` is its header hash. */
  apply (p: Plan, head: Uint8Array): void {
    if (p.height !== this.height + 1) throw new Error(`apply height ${p.height} while the ledger is at ${this.height}`)
    for (const m of p.items) this.included.set(m.idHex, m.createdAt)
    for (const e of p.newOrders) {
      this.orders.set(e.msg.idHex, e)
      this.perTenant.set(e.tenant, (this.perTenant.get(e.tenant) ?? 0) + 1)
      this.deadlines.push([e.msg.body.bidDeadline, e.msg.idHex])
      this.deadlinesSorted = false
    }
    for (const [o, c] of p.newBids) this.orders.get(o)?.bids.push(c)
    for (const [h, t] of p.newTallies) this.closings.get(h)?.tallies.push(t)
    if (p.closing.length > 0) {
      for (const o of p.closing) { const e = this.orders.get(o); if (e != null) e.closing = p.height }
      this.closings.set(p.height, { height: p.height, time: p.time, committee: p.committee, orders: [...p.closing], tallies: [], seed: head })
      this.deadlines = this.deadlines.filter(([, o]) => this.orders.get(o)?.closing == null)
    }
    for (const o of p.resolved) {
      const e = this.orders.get(o)
      if (e == null) continue
      this.orders.delete(o)
      const n = (this.perTenant.get(e.tenant) ?? 1) - 1
      if (n <= 0) this.perTenant.delete(e.tenant); else this.perTenant.set(e.tenant, n)
    }
    if (p.resolved.length > 0) {
      this.deadlines = this.deadlines.filter(([, o]) => this.orders.has(o))
      for (const [h, c] of this.closings) if (c.orders.every((o) => !this.orders.has(o))) this.closings.delete(h)
    }
    for (const l of p.leases) {
      this.leases.set(hex(l.order), { tenant: l.tenant, provider: l.provider, closed: false })
      this.records.leaseMade(hex(l.order), l.tenant, l.provider, p.time)
    }
    for (const c of p.closed) {
      const l = this.leases.get(hex(c.order))
      if (l == null) continue
      l.closed = true
      l.close = c.close
      this.records.leaseClosed(hex(c.order), c.code, equal(c.by, l.tenant), p.time)
    }
    this.records.advance(p.time)
    for (const c of p.newChanges) this.changes.set(c.msg.idHex, c)
    for (const [cid, who] of p.newApprovals) this.changes.get(cid)?.approvals.add(who)
    for (const cid of p.approved) {
      const c = this.changes.get(cid)
      if (c != null) c.approved = true
      this.transitionChanges.push(cid)
    }
    if (this.transitionAt == null && p.transitionAt != null) this.transitionAt = p.transitionAt
    if (p.next != null) {
      this.committees.push(p.next)
      this.transitionAt = undefined
      this.transitionChanges.length = 0
      this.changes.clear()
    }
    this.height = p.height
    this.head = head
    this.time = p.time
    // items older than the freshness window can never be ordered again: forget them
    const floor = p.time - MAX_MESSAGE_AGE_MS
    // insertion order is close to creation order: stop at the first fresh one (stragglers only cost memory)
    for (const [id, at] of this.included) {
      if (at >= floor) break
      this.included.delete(id)
    }
  }
}
