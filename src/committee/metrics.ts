// Counters of what the committee refused or dropped because a bound bit (protocols/committee.md
// §11). The node layer exports them (souk_committee_bound_hits_total{bound}); status() shows them.

export const BoundName = {
  /** the pool was full */
  POOL_FULL: 'pool_full',
  /** an order already had its share of the pool */
  POOL_PER_ORDER: 'pool_per_order',
  /** a signer already had its share of the pool */
  POOL_PER_SIGNER: 'pool_per_signer',
  /** a bid for an unknown order found no room among those waiting for their order */
  UNKNOWN_ORDER_FULL: 'unknown_order_full',
  /** a bid waited for its order longer than allowed */
  UNKNOWN_ORDER_EXPIRED: 'unknown_order_expired',
  /** a non-member sent something only members may ask for, or sent too much */
  NON_MEMBER: 'non_member',
  /** a proposal or vote signed by a key outside the committee (dropped before verifying) */
  NOT_A_MEMBER_SIGNER: 'not_a_member_signer',
  /** evidence that was not two signatures by one member of the epoch */
  EVIDENCE_REFUSED: 'evidence_refused',
  /** evidence against a validator that already has its share kept */
  EVIDENCE_PER_VALIDATOR: 'evidence_per_validator',
  /** the ledger refused an order: too many open orders (all, or of its tenant) */
  LEDGER_ORDERS: 'ledger_orders',
  /** the ledger refused an order whose bid deadline lies too far ahead */
  LEDGER_DEADLINE: 'ledger_deadline',
  /** the ledger ignored a bid: its order already had the most bids it keeps */
  LEDGER_BIDS: 'ledger_bids',
  /** frames for the future (heights ahead) beyond what is buffered */
  FUTURE_FULL: 'future_full'
} as const
export type BoundName = typeof BoundName[keyof typeof BoundName]

export class CommitteeMetrics {
  readonly hits = new Map<BoundName, number>()
  hit (b: BoundName, by = 1): void { this.hits.set(b, (this.hits.get(b) ?? 0) + by) }
  get (b: BoundName): number { return this.hits.get(b) ?? 0 }
  snapshot (): Record<string, number> { return Object.fromEntries(this.hits) }
}
