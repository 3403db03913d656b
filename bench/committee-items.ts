// The order and bids bench:committee feeds its validators (bench:decode opens the same ones).
import type { OrderBody, BidBody } from '../src/wire/index.ts'

/** order `i` of the stream: one group of two replicas, 100 uakt at most */
export function benchOrder (i: number, bidDeadline: number): OrderBody {
  return {
    groups: [{
      name: 'web',
      attributes: { region: 'eu' },
      signedBy: { allOf: [], anyOf: [] },
      resources: [{ service: 'web', cpu: 1000, memory: 2 ** 30, storage: [{ name: 'data', size: 10 * 2 ** 30, persistent: true }], gpu: { units: 0, models: [] }, count: 2, price: { denom: 'uakt', amount: '100' } }],
      maxPrice: { denom: 'uakt', amount: '100' }
    }],
    manifestHash: new Uint8Array(32).fill(i % 251),
    bidDeadline
  }
}

/** provider `p`'s bid on order `i` (ID `order`): prices spread from 40 to 89.x uakt */
export function benchBid (order: Uint8Array, i: number, p: number, expiresAt: number): BidBody {
  return {
    order,
    prices: [{ denom: 'uakt', amount: `${40 + ((i * 7 + p * 13) % 50)}.${p}5` }],
    attributes: { region: 'eu', tier: 'standard' },
    auditors: [],
    expiresAt
  }
}
