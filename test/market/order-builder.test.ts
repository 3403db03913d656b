import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { generateIdentity } from '../../src/identity/index.ts'
import { MessageTag, openMessage, signMessage, toHex } from '../../src/wire/index.ts'
import type { BidBody, OrderBody } from '../../src/wire/index.ts'
import { loadSdlFile } from '../../src/sdl/index.ts'
import type { LoadedSdl } from '../../src/sdl/index.ts'
import { bidEngine, buildOrder, formatDecision, manualClock, MarketError } from '../../src/market/index.ts'
import { capacityReservations } from './capacity.ts'

const CORPUS = new URL('../fixtures/sdl-corpus/', import.meta.url).pathname
const GiB = 2 ** 30
const tenant = generateIdentity()
const NOW = 1_750_000_000_000

function handMade (): LoadedSdl {
  return {
    manifest: { version: '2.0', groups: [], endpoints: {} },
    groups: [{
      name: 'westcoast',
      attributes: { region: 'us-west' },
      signedBy: { allOf: [], anyOf: ['a'.repeat(64)] },
      resources: [
        {
          service: 'web',
          resources: {
            cpu: 500,
            memory: 512 * 2 ** 20,
            storage: [{ name: 'default', size: GiB, persistent: false }, { name: 'data', size: 10 * GiB, persistent: true, class: 'beta2' }],
            gpu: { units: 0, models: [] }
          },
          count: 2,
          price: { denom: 'uakt', amount: '100.5' }
        },
        {
          service: 'llm',
          resources: {
            cpu: 8000,
            memory: 32 * GiB,
            storage: [{ name: 'default', size: 50 * GiB, persistent: false }],
            gpu: { units: 1, models: [{ vendor: 'nvidia', model: 'h100', ram: 80 * GiB, interface: 'sxm' }, { vendor: 'nvidia', model: 'a100' }] }
          },
          count: 1,
          price: { denom: 'uakt', amount: '1000' }
        }
      ],
      maxPrice: { denom: 'uakt', amount: '1201' }
    }],
    totals: { cpu: 9000, memory: 33 * GiB, storage: {}, gpu: {}, count: 3 },
    notices: [],
    manifestHash: 'ab'.repeat(32)
  }
}

test('a hand-made LoadedSdl becomes an order body that signs and opens', () => {
  const body = buildOrder(handMade(), { bidWindowMs: 5_000, now: NOW })
  assert.is(body.bidDeadline, NOW + 5_000)
  assert.equal(body.manifestHash, new Uint8Array(32).fill(0xab))
  assert.equal(body.groups[0], {
    name: 'westcoast',
    attributes: { region: 'us-west' },
    signedBy: { allOf: [], anyOf: ['a'.repeat(64)] },
    resources: [
      {
        service: 'web',
        cpu: 500,
        memory: 512 * 2 ** 20,
        storage: [{ name: 'default', size: GiB, persistent: false }, { name: 'data', size: 10 * GiB, persistent: true, class: 'beta2' }],
        gpu: { units: 0, models: [] },
        count: 2,
        price: { denom: 'uakt', amount: '100.5' }
      },
      {
        service: 'llm',
        cpu: 8000,
        memory: 32 * GiB,
        storage: [{ name: 'default', size: 50 * GiB, persistent: false }],
        gpu: { units: 1, models: [{ vendor: 'nvidia', model: 'h100', ram: 80 * GiB, interface: 'sxm' }, { vendor: 'nvidia', model: 'a100' }] },
        count: 1,
        price: { denom: 'uakt', amount: '1000' }
      }
    ],
    maxPrice: { denom: 'uakt', amount: '1201' }
  })
  const signed = signMessage(tenant, MessageTag.ORDER, body, { createdAt: NOW })
  const opened = openMessage<OrderBody>(signed.bytes, { expect: MessageTag.ORDER })
  assert.equal(opened.body, body)
  assert.is(opened.idHex, signed.idHex)
})

test('what cannot become an order is a typed error with the path', () => {
  const bad = handMade()
  bad.manifestHash = 'xyz'
  assert.throws(() => buildOrder(bad, { bidWindowMs: 5_000, now: NOW }), (err: any) => err instanceof MarketError && err.code === 'ERR_MARKET_INVALID_ORDER' && /manifestHash/.test(err.message))
  const many = handMade()
  many.groups = Array.from({ length: 17 }, () => handMade().groups[0])
  assert.throws(() => buildOrder(many, { bidWindowMs: 5_000, now: NOW }), /order\.groups: must have at most 16 entries/)
  const zeroCpu = handMade()
  zeroCpu.groups[0].resources[0].resources.cpu = 0
  assert.throws(() => buildOrder(zeroCpu, { bidWindowMs: 5_000, now: NOW }), /order\.groups\[0\]\.resources\[0\]\.cpu/)
  assert.throws(() => buildOrder(handMade(), { bidWindowMs: 0, now: NOW }), /bidWindowMs/)
  // a bid window longer than any node accepts (protocols/wire.md §4.1) cannot become an order
  assert.throws(() => buildOrder(handMade(), { bidWindowMs: 10 * 60_000 + 1, now: NOW }), (err: any) => err instanceof MarketError && /bidDeadline: must be at most 600000 ms after/.test(err.message))
})

test('a real GPU deployment file becomes an order, and a provider with the GPUs bids on it', async () => {
  const loaded = await loadSdlFile(join(CORPUS, 'DeepSeek-R1-0528__deploy.yaml'))
  const body = buildOrder(loaded, { bidWindowMs: 10_000, now: NOW })
  assert.is(toHex(body.manifestHash), loaded.manifestHash)
  assert.is(body.groups.length, 1)
  const g = body.groups[0]
  assert.is(g.name, 'dcloud')
  assert.equal(g.maxPrice, { denom: 'uact', amount: '1000000' })
  const r = g.resources[0]
  assert.is(r.service, 'sglang1')
  assert.is(r.cpu, 64_000)
  assert.is(r.memory, 256 * GiB)
  assert.equal(r.gpu, { units: 8, models: [{ vendor: 'nvidia', model: 'h200' }] })
  assert.equal(r.storage.map((s) => [s.name, s.size, s.persistent, s.class]), [
    ['default', 100 * GiB, false, undefined],
    ['data', 900 * GiB, true, 'beta3'],
    ['shm', 32 * GiB, false, 'ram']
  ])

  // the order as a provider receives it: bytes off the network, opened and verified
  const clock = manualClock(NOW)
  const order = openMessage<OrderBody>(signMessage(tenant, MessageTag.ORDER, body, { createdAt: NOW }).bytes, { expect: MessageTag.ORDER })
  const provider = generateIdentity()
  const capacity = capacityReservations({ cpu: 128_000, memory: 1024 * GiB, storage: { ephemeral: 2048 * GiB, beta3: 4096 * GiB, ram: 256 * GiB }, gpu: { 'nvidia/h200': 8 } })
  const bids: Uint8Array[] = []
  const engine = bidEngine({
    attributes: { region: 'eu-central' },
    pricing: { table: { denom: 'uact', cpu: '100', memory: '10', storage: { ephemeral: '1', beta3: '2', ram: '10' }, gpu: { 'nvidia/h200': '50000' } } }
  })({ identity: provider, reservations: capacity, clock, publishBid: (s) => { bids.push(s.bytes) } })
  const d = await engine.handleOrder(order)
  // 64 × 100 + 256 × 10 + 100 × 1 + 900 × 2 + 32 × 10 + 8 × 50000
  assert.is(d.outcome, 'bid', formatDecision(d))
  assert.equal(d.prices, [{ denom: 'uact', amount: '411180' }])
  const bid = openMessage<BidBody>(bids[0], { expect: MessageTag.BID })
  assert.equal(bid.body.order, order.id)
  assert.is(capacity.free().gpu['nvidia/h200'], 0)
  await engine.onBidLost(order.id)
  assert.is(capacity.free().gpu['nvidia/h200'], 8)
})

test('every file of the SDL corpus becomes an order that signs and opens', async () => {
  const files = readdirSync(CORPUS).filter((f) => /\.ya?ml$/.test(f)).sort()
  assert.ok(files.length >= 250, `only ${files.length} files in the corpus`)
  const failures: string[] = []
  for (const f of files) {
    try {
      const body = buildOrder(await loadSdlFile(join(CORPUS, f)), { bidWindowMs: 5_000, now: NOW })
      const signed = signMessage(tenant, MessageTag.ORDER, body, { createdAt: NOW })
      openMessage(signed.bytes, { expect: MessageTag.ORDER })
    } catch (err: any) {
      failures.push(`${f}: ${String(err.message).slice(0, 200)}`)
    }
  }
  assert.equal(failures, [])
})

test.run()
