import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { priceTable, PricingError, MarketError } from '../../src/market/index.ts'
import type { PricingRequest } from '../../src/market/index.ts'
import type { WireGroup, WireResources } from '../../src/wire/index.ts'

const GiB = 2 ** 30

function res (over: Partial<WireResources> = {}): WireResources {
  return {
    service: 'web',
    cpu: 1000,
    memory: GiB,
    storage: [],
    gpu: { units: 0, models: [] },
    count: 1,
    price: { denom: 'uakt', amount: '100' },
    ...over
  }
}

function req (groups: Array<Partial<WireGroup> & { resources: WireResources[] }>): PricingRequest {
  return {
    order: '00'.repeat(32),
    tenant: 'tenant',
    bidDeadline: 0,
    provider: { attributes: {} },
    groups: groups.map((g, i) => ({
      name: `g${i}`,
      attributes: {},
      signedBy: { allOf: [], anyOf: [] },
      maxPrice: { denom: 'uakt', amount: '1000' },
      ...g
    }))
  }
}

test('0.1 per CPU + 0.2 per GiB of memory is exactly 0.3', async () => {
  const t = priceTable({ denom: 'uakt', cpu: '0.1', memory: '0.2' })
  assert.equal(await t.price(req([{ resources: [res()] }])), [{ denom: 'uakt', amount: '0.3' }])
})

test('a group is the sum over services of one replica times the count', async () => {
  const t = priceTable({ denom: 'uakt', cpu: '10', memory: '2', storage: { ephemeral: '0.5', beta3: '3', ram: '1' } })
  const group = {
    resources: [
      // 0.5 cpu (5) + 512 MiB (1) + 10 GiB ephemeral (5) = 11 per replica, × 3
      res({ service: 'web', cpu: 500, memory: GiB / 2, storage: [{ name: 'default', size: 10 * GiB, persistent: false }], count: 3 }),
      // 2 cpu (20) + 4 GiB (8) + 100 GiB beta3 (300) + 1 GiB ram (1) = 329, × 1
      res({
        service: 'db',
        cpu: 2000,
        memory: 4 * GiB,
        storage: [
          { name: 'default', size: 0, persistent: false },
          { name: 'data', size: 100 * GiB, persistent: true, class: 'beta3' },
          { name: 'shm', size: GiB, persistent: false, class: 'ram' }
        ]
      })
    ]
  }
  assert.equal(await t.price(req([group, { resources: [res({ cpu: 250, memory: GiB / 4 })] }])), [
    { denom: 'uakt', amount: '362' },
    // 0.25 cpu × 10 + 0.25 GiB × 2
    { denom: 'uakt', amount: '3' }
  ])
})

test('GPU prices by vendor/model, then vendor/*, then *', async () => {
  const t = priceTable({ denom: 'uakt', gpu: { 'nvidia/h100': '1000', 'nvidia/*': '300', '*': '50' } })
  const gpu = (models: Array<{ vendor: string, model?: string }>, units = 1) => res({ cpu: 1000, memory: GiB, gpu: { units, models } })
  const [h100, a100, amd, any, either] = await t.price(req([
    { resources: [gpu([{ vendor: 'nvidia', model: 'H100' }], 2)] },
    { resources: [gpu([{ vendor: 'nvidia', model: 'a100' }])] },
    { resources: [gpu([{ vendor: 'amd', model: 'mi300x' }])] },
    { resources: [gpu([])] },
    // the provider may place either: the higher price counts
    { resources: [gpu([{ vendor: 'nvidia', model: 'a100' }, { vendor: 'nvidia', model: 'h100' }])] }
  ]))
  assert.is(h100.amount, '2000')
  assert.is(a100.amount, '300')
  assert.is(amd.amount, '50')
  assert.is(any.amount, '50')
  assert.is(either.amount, '1000')
})

test('a storage class or GPU model with no price is not offered', async () => {
  const t = priceTable({ denom: 'uakt', cpu: '1', storage: { ephemeral: '1' }, gpu: { 'nvidia/h100': '10' } })
  try {
    await t.price(req([{ resources: [res({ storage: [{ name: 'data', size: GiB, persistent: true, class: 'beta2' }] })] }]))
    assert.unreachable()
  } catch (err: any) {
    assert.instance(err, PricingError)
    assert.is(err.reason, 'ERR_UNPRICED_RESOURCE')
    assert.match(err.message, 'no price for storage class beta2 (service web, group g0)')
  }
  try {
    await t.price(req([{ resources: [res({ gpu: { units: 1, models: [{ vendor: 'amd', model: 'mi300x' }] } })] }]))
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.reason, 'ERR_UNPRICED_RESOURCE')
    assert.match(err.message, 'no price for GPU amd/mi300x')
  }
})

test('fractions of a unit are exact, and the total is rounded up once', async () => {
  // 1 byte of memory at 1 per GiB is 2^-30 = 9.31322574615478515625e-10: rounds up at the 18th digit
  const t = priceTable({ denom: 'uakt', memory: '1' })
  assert.equal(await t.price(req([{ resources: [res({ memory: 1 })] }])), [{ denom: 'uakt', amount: '0.000000000931322575' }])
  // one KiB is 2^-20 (20 digits, so it would round), but 1024 replicas of it sum exactly to 2^-10 first
  assert.equal(await t.price(req([{ resources: [res({ memory: 1024, count: 1024 })] }])), [{ denom: 'uakt', amount: '0.0009765625' }])
  // a third of a CPU at 0.03 per CPU: 333 millicpu × 0.03 / 1000
  const c = priceTable({ denom: 'uakt', cpu: '0.03' })
  assert.equal(await c.price(req([{ resources: [res({ cpu: 333 })] }])), [{ denom: 'uakt', amount: '0.00999' }])
})

test('bad configuration is a typed error naming the field', () => {
  assert.throws(() => priceTable({ denom: '' }), (err: any) => err instanceof MarketError && /pricing\.denom/.test(err.message))
  assert.throws(() => priceTable({ denom: 'uakt', cpu: '0.1.2' }), (err: any) => err instanceof MarketError && /pricing\.cpu/.test(err.message))
  assert.throws(() => priceTable({ denom: 'uakt', gpu: { 'nvidia/h100': 12 as any } }), (err: any) => /pricing\.gpu\.nvidia\/h100/.test(err.message))
})

test.run()
