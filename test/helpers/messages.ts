// Typical message bodies, shaped like what a real tenant and provider send.
import { randomBytes } from 'node:crypto'
import type { OrderBody, BidBody } from '../../src/wire/index.ts'

export function sampleOrder (overrides: Partial<OrderBody> = {}): OrderBody {
  return {
    groups: [{
      name: 'akash',
      attributes: { region: 'eu-west', tier: 'community' },
      signedBy: { allOf: [], anyOf: [] },
      resources: [{
        service: 'web',
        cpu: 500,
        memory: 512 * 1024 * 1024,
        storage: [{ name: 'default', size: 1024 * 1024 * 1024, persistent: false }],
        gpu: { units: 0, models: [] },
        count: 1,
        price: { denom: 'uakt', amount: '1000' }
      }],
      maxPrice: { denom: 'uakt', amount: '1000' }
    }],
    manifestHash: new Uint8Array(randomBytes(32)),
    bidDeadline: Date.now() + 5_000,
    ...overrides
  }
}

export function sampleBid (order: Uint8Array, overrides: Partial<BidBody> = {}): BidBody {
  return {
    order,
    prices: [{ denom: 'uakt', amount: '850' }],
    attributes: { region: 'eu-west', tier: 'community', host: 'souk-provider-1', 'capabilities/gpu': 'nvidia' },
    auditors: [],
    expiresAt: Date.now() + 60_000,
    ...overrides
  }
}
