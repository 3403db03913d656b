// A provider bids only on orders its own lease book keeps: an order the book refuses (its signer's
// open-order bound) would give a lease this node could not follow, counted against its record.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { key, order } from '../committee/harness.ts'
import { leaseBook } from '../../src/node/lease-book.ts'
import type { LeaseBook } from '../../src/node/lease-book.ts'
import { followMarket } from '../../src/node/provider/bidding.ts'
import type { BidEngine } from '../../src/market/index.ts'
import type { Logger } from '../../src/node/logger.ts'
import { Topic } from '../../src/net/index.ts'
import type { SoukGossip, SoukNode } from '../../src/net/index.ts'
import type { SignedMessage } from '../../src/wire/index.ts'

const silent = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent } as unknown as Logger

/** four orders of one tenant through gossip to a book that keeps two open orders a signer */
async function run (providerSubscribesFirst: boolean): Promise<{ decided: string[], held: string[] }> {
  const handlers = new Map<string, Array<(m: SignedMessage) => void>>()
  const gossip = { onMessage: (topic: string, h: (m: SignedMessage) => void) => { handlers.set(topic, [...(handlers.get(topic) ?? []), h]); return () => {} } } as unknown as SoukGossip
  const decided: string[] = []
  const engine = { handleOrder: async (m: SignedMessage) => { decided.push(m.idHex); return { order: m.idHex, outcome: 'declined', reasons: [] } } } as unknown as BidEngine
  let real: LeaseBook | undefined
  // the provider sees the book through this, so it can subscribe before the book exists
  const book = { order: (id: string) => real?.order(id), on: () => () => {} } as unknown as LeaseBook
  const follow = (): void => { followMarket({ net: { gossip } as unknown as SoukNode, book, engine, logger: silent, me: 'ab', won: () => {} }) }
  if (providerSubscribesFirst) follow()
  real = leaseBook({ committee: () => [], maxOrdersPerTenant: 2 })({ gossip })
  if (!providerSubscribesFirst) follow()
  const tenant = key(2, 7)
  const now = Date.now()
  const sent = Array.from({ length: 4 }, (_, i) => order(tenant, now + i, now + 60_000))
  for (const m of sent) for (const h of handlers.get(Topic.ORDERS) ?? []) h(m)
  await new Promise((resolve) => setImmediate(resolve))
  return { decided, held: sent.filter((m) => real?.order(m.idHex) != null).map((m) => m.idHex) }
}

test('orders the book refuses are not bid on; the ones it keeps are', async () => {
  const r = await run(false)
  assert.is(r.held.length, 2)
  assert.equal(r.decided, r.held)
})

test('the same when the provider subscribed to the orders topic before the book did', async () => {
  const r = await run(true)
  assert.is(r.held.length, 2)
  assert.equal(r.decided, r.held)
})

test.run()
