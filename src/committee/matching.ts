// Fair matching: a pure function of what the committee finalized. The bids that count are those
// the validators' tallies name (ledger.ts: held in time by at least one honest validator); of
// those still standing at the deadline and fitting the order, the lowest total price wins; ties
// go to the lowest sha256(seed || orderId || bidId), where the seed is the header hash of the
// batch that closed the auction, unknown to any provider while it could still bid. Amounts are
// compared exactly as scaled BigInts.
import type { OrderBody } from '../wire/messages/order.ts'
import type { BidBody } from '../wire/messages/bid.ts'
import type { SignedMessage } from '../wire/envelope.ts'
import { parseAmount } from '../wire/amount.ts'
import { auditorName, auditorNames, verifyAttestation } from '../market/attestation.ts'
import { compare, sha256 } from './bytes.ts'
import { acceptMisfit } from './record.ts'
import type { RecordLookup } from './record.ts'

export interface BidCandidate {
  msg: SignedMessage<BidBody>
  /** committee time of the batch that ordered the bid */
  time: number
}

/** tie-break seed before an auction closed (no batch header yet): 32 zero bytes */
export const NO_SEED = new Uint8Array(32)

/**
 * The auditors that vouch for this bid, under every name an order may use: only those whose
 * attestation verifies over the bid's attributes, bound to the bidding provider's key (a key
 * listed without a valid signature vouches for nothing).
 */
function attestedBy (bid: BidBody, provider: Uint8Array): Set<string> {
  const names = new Set<string>()
  for (const att of bid.auditors) {
    if (verifyAttestation(att, provider, bid.attributes)) for (const n of auditorNames(att.auditor)) names.add(n)
  }
  return names
}

/**
 * Why a bid by `provider` (its signer's key) does not fit the order, or undefined when it fits.
 * With `record`, the order's `accept` (or its default) is judged against the provider's record.
 */
export function misfit (order: OrderBody, bid: BidBody, provider: Uint8Array, record?: RecordLookup): string | undefined {
  const refused = acceptMisfit(order.accept, provider, record)
  if (refused != null) return `provider ${refused}`
  let auditors: Set<string> | undefined
  if (bid.prices.length !== order.groups.length) return `has ${bid.prices.length} prices for ${order.groups.length} groups`
  for (let i = 0; i < order.groups.length; i++) {
    const g = order.groups[i]
    const p = bid.prices[i]
    if (p.denom !== g.maxPrice.denom) return `prices group ${g.name} in ${p.denom}, the order in ${g.maxPrice.denom}`
    if (parseAmount(p.amount) > parseAmount(g.maxPrice.amount)) return `asks ${p.amount} ${p.denom} for group ${g.name}, above its maxPrice ${g.maxPrice.amount}`
    for (const k in g.attributes) {
      const v = g.attributes[k]
      if (bid.attributes[k] !== v) return `lacks attribute ${k}=${v} required by group ${g.name}`
    }
    if (g.signedBy.allOf.length === 0 && g.signedBy.anyOf.length === 0) continue
    // signatures are checked only for orders that ask for auditors, once per bid
    auditors ??= attestedBy(bid, provider)
    const have = auditors
    for (const a of g.signedBy.allOf) {
      if (!have.has(auditorName(a))) return `lacks a valid attestation by auditor ${a}, required by group ${g.name}`
    }
    if (g.signedBy.anyOf.length > 0 && !g.signedBy.anyOf.some((a) => have.has(auditorName(a)))) return `has no valid attestation by any auditor group ${g.name} accepts`
  }
  return undefined
}

/** total price per denom, denoms sorted: bids on one order always share the same denoms */
export function totals (bid: BidBody): Array<[string, bigint]> {
  // a decoded bid is one object shared by the pool, the ledger and the tallies, and never changes
  const hit = totalsOf.get(bid)
  if (hit != null) return hit
  const m = new Map<string, bigint>()
  for (const p of bid.prices) m.set(p.denom, (m.get(p.denom) ?? 0n) + parseAmount(p.amount))
  const out = [...m.entries()].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  totalsOf.set(bid, out)
  return out
}

const totalsOf = new WeakMap<BidBody, Array<[string, bigint]>>()

function cmpTotals (a: Array<[string, bigint]>, b: Array<[string, bigint]>): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i][0] !== b[i][0]) return a[i][0] < b[i][0] ? -1 : 1
    if (a[i][1] !== b[i][1]) return a[i][1] < b[i][1] ? -1 : 1
  }
  return a.length - b.length
}

/** the tie-break key: sha256(seed || orderId || bidId), seed = header hash of the closing batch */
export function tieKey (orderId: Uint8Array, bidId: Uint8Array, seed: Uint8Array = NO_SEED): Uint8Array {
  return sha256(seed, orderId, bidId)
}

/**
 * Bids on one order, cheapest first; equal totals by the tie-break key, hashed only for bids that
 * tie (and once each). Matching picks the first; a tally names the first few.
 */
export function cheapestFirst (orderId: Uint8Array, seed: Uint8Array = NO_SEED): (a: SignedMessage<BidBody>, b: SignedMessage<BidBody>) => number {
  const ties = new Map<SignedMessage<BidBody>, Uint8Array>()
  const tie = (m: SignedMessage<BidBody>): Uint8Array => {
    let t = ties.get(m)
    if (t == null) { t = tieKey(orderId, m.id, seed); ties.set(m, t) }
    return t
  }
  return (a, b) => cmpTotals(totals(a.body), totals(b.body)) || compare(tie(a), tie(b))
}

export interface MatchResult {
  winner?: BidCandidate
  /** bids that counted (named by the tallies and standing at the deadline) */
  counted: number
  /** why counted bids did not fit, one line per bid (at most a few) */
  misfits: string[]
}

/** the winner among `candidates` (the bids that count) */
export function match (orderId: Uint8Array, order: OrderBody, candidates: readonly BidCandidate[], seed: Uint8Array = NO_SEED, record?: RecordLookup): MatchResult {
  const cheaper = cheapestFirst(orderId, seed)
  let best: BidCandidate | undefined
  let counted = 0
  const misfits: string[] = []
  for (const c of candidates) {
    if (c.msg.body.expiresAt < order.bidDeadline) continue
    counted++
    const why = misfit(order, c.msg.body, c.msg.signer, record)
    if (why != null) {
      if (misfits.length < 3) misfits.push(`bid ${c.msg.idHex.slice(0, 12)} ${why}`)
      continue
    }
    if (best == null || cheaper(c.msg, best.msg) < 0) best = c
  }
  return { winner: best, counted, misfits }
}
