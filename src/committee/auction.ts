// Auction closes (protocols/committee.md §6). An order's auction closes in the first batch whose
// committee time reaches its bid deadline; each validator of that batch's committee then signs a
// tally of the bids it held before the deadline by its own clock, and the order settles once the
// first `threshold` tallies are ordered: a bid counts when f+1 of them name it, so at least one
// honest validator held it in time. No proposer can leave out a bid every honest validator held
// (the others' tallies name it), and no proposer's choice of committee time changes which bids
// count (a tally is about the deadline, not about any batch's time).
import type { SignedMessage } from '../wire/envelope.ts'
import type { TallyBody } from './messages.ts'
import type { CommitteeInfo } from './committee-file.ts'
import { hex } from './bytes.ts'

export interface TallyEntry {
  /** the tallying validator's key (hex) */
  signer: string
  /** order (hex) → the bids (hex) it named */
  orders: Map<string, string[]>
}

export interface Closing {
  /** the batch in which the orders started closing */
  height: number
  /** that batch's committee time */
  time: number
  /** the committee of that batch: its validators tally */
  committee: CommitteeInfo
  /** the orders (hex) that started closing, in (deadline, ID) order */
  orders: string[]
  /** tallies ordered so far, in order (at most `threshold` are kept) */
  tallies: TallyEntry[]
  /** tie-break seed: the header hash of that batch (known once it is final) */
  seed: Uint8Array
}

export function tallyEntry (m: SignedMessage<TallyBody>): TallyEntry {
  return { signer: hex(m.signer), orders: new Map(m.body.orders.map((o) => [hex(o.order), o.bids.map(hex)])) }
}

/** whether a tally counts toward `closing` given the tallies already counted (existing and earlier in the batch) */
export function tallyCounts (m: SignedMessage<TallyBody>, closing: Closing | undefined, counted: readonly TallyEntry[]): boolean {
  if (closing == null || m.body.epoch !== closing.committee.epoch) return false
  const k = hex(m.signer)
  if (!closing.committee.index.has(k)) return false
  if (counted.length >= closing.committee.threshold) return false
  return !counted.some((t) => t.signer === k)
}

/** the bids (hex) that `need` or more of `tallies` name for `order` */
export function namedBids (tallies: readonly TallyEntry[], order: string, need: number): Set<string> {
  const votes = new Map<string, number>()
  for (const t of tallies) for (const b of t.orders.get(order) ?? []) votes.set(b, (votes.get(b) ?? 0) + 1)
  const out = new Set<string>()
  for (const [b, n] of votes) if (n >= need) out.add(b)
  return out
}

/**
 * How many tallies must name a bid for it to count: f+1 once the threshold of tallies is in;
 * after the close timeout, with fewer tallies, f+1 of those there are (all of them when fewer).
 */
export function tallyNeed (closing: Closing, tallies: number): number {
  return Math.max(1, Math.min(closing.committee.f + 1, tallies))
}
