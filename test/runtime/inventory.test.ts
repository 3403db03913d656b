// Capacity, reservations and GPU discovery, on real nvidia-smi output from an H100 host.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  fits, gpuInterface, gpuModelName, hostCapacity, InsufficientResourcesError, inventory, parseNvidiaSmiCsv, parseNvidiaSmiXml, ReservationExistsError
} from '../../src/runtime/index.ts'
import type { GpuDevice, ResourceRequest } from '../../src/runtime/index.ts'
import type { ComputeResources } from '../../src/sdl/types.ts'
import { GiB } from './manifests.ts'

const fixtures = new URL('./fixtures/gpu/', import.meta.url)
const csv = readFileSync(new URL('nvidia-smi-query.csv', fixtures), 'utf8')
const xml = readFileSync(new URL('nvidia-smi-q.xml', fixtures), 'utf8')

const H100: Omit<GpuDevice, 'index' | 'uuid'> = { vendor: 'nvidia', model: 'h100', name: 'NVIDIA H100 80GB HBM3', ram: 80 * GiB, ramLabel: '80Gi', memoryMiB: 81559, interface: 'sxm', busId: '' }

function res (cpu: number, memory: number, gpu: ComputeResources['gpu'] = { units: 0, models: [] }, storage = 0): ComputeResources {
  return { cpu, memory, storage: storage > 0 ? [{ name: 'default', size: storage, persistent: false }] : [], gpu }
}

test('nvidia-smi CSV of an H100 host reads as one nvidia/h100 with 80Gi over SXM', () => {
  const [g, ...rest] = parseNvidiaSmiCsv(csv)
  assert.is(rest.length, 0)
  assert.equal(g, {
    index: 0,
    vendor: 'nvidia',
    model: 'h100',
    name: 'NVIDIA H100 80GB HBM3',
    uuid: 'GPU-9a416bff-4dde-3224-ca73-dc3efeb203c4',
    ram: 80 * GiB,
    ramLabel: '80Gi',
    memoryMiB: 81559,
    interface: 'sxm',
    busId: '00000000:00:06.0',
    driverVersion: '580.159.04',
    computeCap: '9.0'
  })
})

test('nvidia-smi -q -x of the same host gives the same GPU', () => {
  const [g, ...rest] = parseNvidiaSmiXml(xml)
  assert.is(rest.length, 0)
  const fromCsv = parseNvidiaSmiCsv(csv)[0]
  assert.equal({ ...g, computeCap: fromCsv.computeCap }, fromCsv)
})

test('GPU product names map to SDL model names and form factors', () => {
  assert.is(gpuModelName('NVIDIA A100-SXM4-80GB'), 'a100')
  assert.is(gpuModelName('NVIDIA GeForce RTX 4090'), 'rtx4090')
  assert.is(gpuModelName('Tesla T4'), 't4')
  assert.is(gpuModelName('NVIDIA RTX A6000'), 'rtxa6000')
  assert.is(gpuModelName('NVIDIA H100 PCIe'), 'h100')
  assert.is(gpuModelName('NVIDIA L40S'), 'l40s')
  assert.is(gpuInterface({ name: 'NVIDIA A100-SXM4-80GB' }), 'sxm')
  assert.is(gpuInterface({ name: 'NVIDIA H100 PCIe' }), 'pcie')
  assert.is(gpuInterface({ name: 'NVIDIA A100 80GB', deviceId: '0x20B510DE' }), 'pcie')
  assert.is(gpuInterface({ name: 'NVIDIA L4', maxPowerW: 72 }), 'pcie')
})

test('output that is not from nvidia-smi is refused with a clear error', () => {
  assert.throws(() => parseNvidiaSmiXml('<html></html>'), /nvidia_smi_log/)
  assert.throws(() => parseNvidiaSmiCsv('a, b\n1, 2\n'), /no name column/)
})

test('a reservation holds resources until released', () => {
  const inv = inventory({ capacity: { cpu: 4000, memory: 8 * GiB, storage: 100 * GiB, gpus: [] } })
  const r = inv.reserve('bid-1', [{ resources: res(1500, 2 * GiB), count: 2 }])
  assert.not.instance(r, InsufficientResourcesError)
  assert.equal(inv.free().cpu, 1000)
  const denied = inv.reserve('bid-2', [{ resources: res(2000, GiB), count: 2 }])
  assert.instance(denied, InsufficientResourcesError)
  assert.is((denied as InsufficientResourcesError).reason, 'cpu')
  assert.is((denied as InsufficientResourcesError).message, 'needs 4 cpu, have 1 free')
  assert.throws(() => inv.reserve('bid-1', []), (err: unknown) => err instanceof ReservationExistsError)
  assert.ok(inv.release('bid-1'))
  assert.not.instance(inv.reserve('bid-2', [{ resources: res(2000, GiB), count: 2 }]), InsufficientResourcesError)
})

test('overcommit stretches cpu and memory, never GPUs', () => {
  const inv = inventory({ capacity: { cpu: 2000, memory: 4 * GiB, storage: 10 * GiB, gpus: [{ ...H100, index: 0, uuid: 'GPU-a' }] }, overcommit: { cpu: 2, memory: 1.5 } })
  assert.is(inv.capacity().cpu, 4000)
  assert.is(inv.capacity().memory, 6 * GiB)
  assert.is(inv.capacity().gpus.length, 1)
})

test('GPU reservations take specific devices and say what is missing', () => {
  const gpus = [{ ...H100, index: 0, uuid: 'GPU-a' }, { ...H100, index: 1, uuid: 'GPU-b' }]
  const inv = inventory({ capacity: { cpu: 64_000, memory: 512 * GiB, storage: 1000 * GiB, gpus } })
  const h100 = { vendor: 'nvidia', model: 'h100' }
  const one = inv.reserve('a', [{ resources: res(1000, GiB, { units: 1, models: [h100] }), count: 1 }])
  assert.ok(!(one instanceof InsufficientResourcesError))
  assert.equal(one.gpus.map((g) => g.uuid), ['GPU-a'])
  const two = inv.reserve('b', [{ resources: res(1000, GiB, { units: 2, models: [h100] }), count: 1 }])
  assert.instance(two, InsufficientResourcesError)
  assert.is((two as InsufficientResourcesError).message, 'needs 2 × nvidia/h100, have 1 free')
  inv.release('a')
  assert.ok(!(inv.reserve('b', [{ resources: res(1000, GiB, { units: 2, models: [h100] }), count: 1 }]) instanceof InsufficientResourcesError))
})

test('GPU model, ram and interface in the SDL must match the device', () => {
  const free = { cpu: 64_000, memory: 512 * GiB, storage: GiB * 1000, gpus: [{ ...H100, index: 0, uuid: 'GPU-a' }], storageClasses: ['default'] }
  const ask = (models: ComputeResources['gpu']['models']): ResourceRequest => [{ resources: res(1000, GiB, { units: 1, models }), count: 1 }]
  assert.ok(fits(free, ask([{ vendor: 'nvidia', model: 'h100', ram: 80 * GiB, interface: 'sxm' }])).ok)
  assert.ok(fits(free, ask([{ vendor: 'nvidia' }])).ok)
  assert.ok(fits(free, ask([])).ok)
  const a100 = fits(free, ask([{ vendor: 'nvidia', model: 'a100' }]))
  assert.equal(a100, { ok: false, reason: 'gpu', message: 'needs 1 × nvidia/a100, have 0 free' })
  assert.is(fits(free, ask([{ vendor: 'nvidia', model: 'h100', interface: 'pcie' }])).ok, false)
  assert.is(fits(free, ask([{ vendor: 'nvidia', model: 'h100', ram: 40 * GiB }])).ok, false)
  assert.ok(fits(free, ask([{ vendor: 'nvidia', model: 'a100' }, { vendor: 'nvidia', model: 'h100' }])).ok, 'any of the listed models will do')
})

test('memory, storage and storage class shortfalls are explained', () => {
  const free = { cpu: 4000, memory: 3.5 * GiB, storage: 10 * GiB, gpus: [], storageClasses: ['beta2'] }
  assert.equal(fits(free, [{ resources: res(100, 8 * GiB), count: 1 }]), { ok: false, reason: 'memory', message: 'needs 8Gi memory, have 3.5Gi free' })
  assert.equal(fits(free, [{ resources: res(100, GiB, undefined, 6 * GiB), count: 2 }]), { ok: false, reason: 'storage', message: 'needs 12Gi storage, have 10Gi free' })
  const beta3: ResourceRequest = [{ resources: { ...res(100, GiB), storage: [{ name: 'data', size: GiB, persistent: true, class: 'beta3' }] }, count: 1 }]
  assert.is((fits(free, beta3) as { reason: string }).reason, 'storage-class')
})

test('host capacity comes from this machine unless configured', async () => {
  const cap = await hostCapacity({ gpus: [] })
  assert.ok(cap.cpu >= 1000 && cap.memory > 0 && cap.storage > 0)
  const fixed = await hostCapacity({ override: { cpu: 8000, memory: 16 * GiB, storage: 50 * GiB }, gpus: parseNvidiaSmiXml(xml) })
  assert.equal([fixed.cpu, fixed.memory, fixed.storage, fixed.gpus.length], [8000, 16 * GiB, 50 * GiB, 1])
  const inv = inventory({ capacity: fixed })
  assert.equal(inv.gpuAttributes(), {
    'capabilities/gpu/vendor/nvidia/model/h100': 'true',
    'capabilities/gpu/vendor/nvidia/model/h100/ram/80Gi': 'true',
    'capabilities/gpu/vendor/nvidia/model/h100/interface/sxm': 'true'
  })
})

test('the bid engine reserves through the inventory and hears why an order does not fit', () => {
  const inv = inventory({ capacity: { cpu: 4000, memory: 8 * GiB, storage: 100 * GiB, gpus: [{ ...H100, index: 0, uuid: 'GPU-a' }] } })
  const rp = inv.reservationProvider()
  const demand = { groups: [{ resources: [{ cpu: 1000, memory: GiB, storage: [], gpu: { units: 1, models: [{ vendor: 'nvidia', model: 'h100' }] }, count: 1 }] }] }
  assert.equal(rp.reserve('order-1', demand), { ok: true })
  assert.equal(rp.reserve('order-1', demand), { ok: true })
  assert.equal(inv.reservations().length, 1)
  assert.equal(rp.reserve('order-2', demand), { ok: false, code: 'ERR_INSUFFICIENT_GPU', message: 'needs 1 × nvidia/h100, have 0 free' })
  rp.release('order-1')
  rp.release('unknown')
  assert.equal(inv.free().gpus.length, 1)
})

test('storage the runtime cannot hold to its size is not bid on, and the reason says so', () => {
  const unenforced = [{ kind: 'ephemeral' as const, why: 'the storage driver overlay2 on extfs cannot limit a writable layer' }]
  const inv = inventory({ capacity: { cpu: 8000, memory: 16 * GiB, storage: 100 * GiB, gpus: [] }, unenforcedStorage: unenforced })
  const provider = inv.reservationProvider()
  const r = provider.reserve('o1', { groups: [{ resources: [{ cpu: 500, memory: GiB, storage: [{ name: 'default', size: GiB, persistent: false }], gpu: { units: 0, models: [] }, count: 1 }] }] })
  assert.equal(r.ok, false)
  assert.is(!r.ok && r.code, 'ERR_STORAGE_NOT_ENFORCED')
  assert.match(!r.ok ? r.message : '', /1Gi of ephemeral storage \(volume default\).*overlay2 on extfs cannot limit/)
  assert.is(inv.reservations().length, 0)
  // a persistent volume is held (a volume store), and so is an order without ephemeral storage
  assert.equal(provider.reserve('o2', { groups: [{ resources: [{ cpu: 500, memory: GiB, storage: [{ name: 'data', size: GiB, persistent: true, class: 'beta2' }], gpu: { units: 0, models: [] }, count: 1 }] }] }), { ok: true })
  // an operator who accepts the risk lists nothing as unenforced
  const accepting = inventory({ capacity: { cpu: 8000, memory: 16 * GiB, storage: 100 * GiB, gpus: [] } })
  assert.equal(accepting.reservationProvider().reserve('o1', { groups: [{ resources: [{ cpu: 500, memory: GiB, storage: [{ name: 'default', size: GiB, persistent: false }], gpu: { units: 0, models: [] }, count: 1 }] }] }), { ok: true })
})

test.run()
