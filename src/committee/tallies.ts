// A validator's side of an auction close: when a batch closes auctions, the validator tallies
// the bids it held for each before the order's bid deadline by its own clock (its arrival times
// are its own record: nothing a proposer or a batch time can change), the cheapest fitting first,
// signs the tally (persisted first, so a restart re-sends the same one) and hands it to the
// committee like any item, repeating it until a batch orders it.
import type { SignedMessage } from '../wire/envelope.ts'
import type { BidBody } from '../wire/messages/bid.ts'
import { CommitteeTag, MAX_TALLY_BIDS } from './constants.ts'
import type { TallyBody } from './messages.ts'
import { cheapestFirst, misfit } from './matching.ts'
import { fromHex, hex } from './bytes.ts'
import type { Core } from './core.ts'

/** bid arrival times remembered (bids of open and closing orders); the oldest go first */
const MAX_ARRIVALS = 262_144

export class Tallier {
  private readonly core: Core
  private readonly arrivals = new Map<string, number>()

  constructor (core: Core) { this.core = core }

  /** a bid reached this node (its clock) */
  arrived (bidHex: string, at: number): void {
    if (this.arrivals.has(bidHex)) return
    if (this.arrivals.size >= MAX_ARRIVALS) this.arrivals.delete(this.arrivals.keys().next().value as string)
    this.arrivals.set(bidHex, at)
  }

  forget (bidHexes: Iterable<string>): void { for (const b of bidHexes) this.arrivals.delete(b) }

  /** tallies (signs once, persists, hands in) the auctions that closed at `height`, if this node is of its committee */
  tally (height: number): void {
    const c = this.core
    const closing = c.ledger.pendingClosings().find((x) => x.height === height)
    if (closing == null || c.myIndex(closing.committee) < 0) return
    const stored = c.persist.signed('tally', height, 0)
    if (stored != null) {
      c.intake.own(c.verdicts.trusted(stored.bytes))
      return
    }
    const body: TallyBody = { epoch: closing.committee.epoch, height, orders: [] }
    for (const o of closing.orders) {
      const bids = this.held(o, closing.seed)
      if (bids.length > 0) body.orders.push({ order: fromHex(o), bids })
    }
    const m = c.sign<TallyBody>(CommitteeTag.TALLY, body)
    c.persist.recordSigned({ kind: 'tally', height, round: 0, value: m.id, bytes: m.bytes })
    c.verdicts.trusted(m.bytes)
    c.intake.own(m)
  }

  /** after a restart: the closes still waiting, tallied again (the stored tally is re-sent) */
  resume (): void {
    for (const cl of this.core.ledger.pendingClosings()) {
      if (!cl.tallies.some((t) => t.signer === hex(this.core.signer.publicKey))) this.tally(cl.height)
    }
  }

  /**
   * The bids this node held for an order before its deadline, the cheapest fitting first: those
   * that arrived here in time, and (after a restart, when arrival times are gone) those a batch
   * ordered before the deadline. Equal totals are ranked by the key matching breaks ties with,
   * seeded by the closing batch's header: a tally names only the first few, and a key a provider
   * could compute in advance (by choosing its bid's nonce) would buy its bid a place in every one.
   */
  private held (orderHex: string, seed: Uint8Array): Uint8Array[] {
    const c = this.core
    const order = c.ledger.orderOf(orderHex)
    if (order == null) return []
    const deadline = order.body.bidDeadline
    const bids = new Map<string, SignedMessage<BidBody>>()
    for (const b of c.ledger.bidCandidates(orderHex)) {
      const at = this.arrivals.get(b.msg.idHex) ?? (b.time < deadline ? b.time : undefined)
      if (at != null && at < deadline) bids.set(b.msg.idHex, b.msg)
    }
    for (const id of c.pool.bidsOf(orderHex)) {
      const at = this.arrivals.get(id) ?? c.pool.arrival(id)
      const m = c.pool.get(id) as SignedMessage<BidBody> | undefined
      if (m != null && at != null && at < deadline) bids.set(id, m)
    }
    const ranked = [...bids.values()].map((m) => ({ m, fits: misfit(order.body, m.body, m.signer, c.ledger.records.lookup) == null && m.body.expiresAt >= deadline }))
    const cheaper = cheapestFirst(order.id, seed)
    ranked.sort((a, b) => a.fits !== b.fits ? (a.fits ? -1 : 1) : cheaper(a.m, b.m))
    return ranked.slice(0, MAX_TALLY_BIDS).map((x) => x.m.id)
  }
}
