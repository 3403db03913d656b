// The container create spec as data: what a lease turns into, without needing an engine or a GPU.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { commonNotices, ContainerLimitsError, containerSpec, DEFAULT_CAP_ADD, planServices, UnsupportedManifestError } from '../../src/runtime/index.ts'
import type { ContainerSpecInput } from '../../src/runtime/index.ts'
import { GiB, MiB, manifestOf, newLease, service, webService } from './manifests.ts'

const lease = newLease()

test('a GPU lease asks Docker for NVIDIA GPUs by count', () => {
  const svc = service('train', { resources: { cpu: 4000, memory: 16 * GiB, storage: [{ name: 'default', size: 10 * GiB, persistent: false }], gpu: { units: 2, models: [{ vendor: 'nvidia', model: 'h100', ram: 80 * GiB }] } } })
  const { create } = containerSpec({ lease, group: 'dcloud', service: svc, replica: 0, generation: 1, network: 'souk-x', storageOpt: true })
  assert.equal(create.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }])
  assert.is(create.HostConfig?.NanoCpus, 4_000_000_000)
  assert.is(create.HostConfig?.Memory, 16 * GiB)
  assert.equal(create.HostConfig?.StorageOpt, { size: String(10 * GiB) })
})

test('a GPU lease can be pinned to the GPUs the inventory reserved', () => {
  const svc = service('train', { resources: { cpu: 1000, memory: GiB, storage: [], gpu: { units: 1, models: [{ vendor: 'nvidia' }] } } })
  const { create } = containerSpec({ lease, group: 'dcloud', service: svc, replica: 0, generation: 1, network: 'n', gpuDeviceIds: ['GPU-9a416bff-4dde-3224-ca73-dc3efeb203c4'] })
  assert.equal(create.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', DeviceIDs: ['GPU-9a416bff-4dde-3224-ca73-dc3efeb203c4'], Capabilities: [['gpu']] }])
})

test('a service without GPUs gets no device requests', () => {
  const { create } = containerSpec({ lease, group: 'dcloud', service: webService(), replica: 0, generation: 1, network: 'n' })
  assert.is(create.HostConfig?.DeviceRequests, undefined)
})

test('every container is unprivileged, capability-trimmed and labelled with its lease', () => {
  const { create } = containerSpec({ lease, group: 'dcloud', service: webService({ count: 2 }), replica: 1, generation: 3, network: 'n', instance: 'p1' })
  const hc = create.HostConfig!
  assert.is(hc.Privileged, false)
  assert.equal(hc.CapDrop, ['ALL'])
  assert.equal(hc.CapAdd, [...DEFAULT_CAP_ADD])
  assert.ok(!hc.CapAdd!.includes('NET_RAW'))
  assert.equal(hc.SecurityOpt, ['no-new-privileges:true'])
  assert.equal(hc.RestartPolicy, { Name: 'unless-stopped' })
  assert.is(create.Labels!['souk.lease'], lease.leaseId)
  assert.is(create.Labels!['souk.service'], 'web')
  assert.is(create.Labels!['souk.tenant'], lease.tenant)
  assert.is(create.Labels!['souk.instance'], 'p1')
  assert.is(create.Labels!['souk.replica'], '1')
  assert.is(create.name, `souk-${lease.leaseId}-web-1-g3`)
})

test('global ports are published on a random host port of the configured address; internal ones are not', () => {
  const svc = webService({ expose: [{ port: 8080, as: 80, proto: 'tcp', to: [{ global: true }], accept: [] }, { port: 9000, as: 9000, proto: 'tcp', to: [{ service: 'db', global: false }], accept: [] }] })
  const { create } = containerSpec({ lease, group: 'g', service: svc, replica: 0, generation: 1, network: 'n', hostIp: '10.0.0.5' })
  assert.equal(create.HostConfig?.PortBindings, { '8080/tcp': [{ HostIp: '10.0.0.5', HostPort: '' }] })
  assert.equal(Object.keys(create.ExposedPorts!).sort(), ['8080/tcp', '9000/tcp'])
})

test('command becomes the entrypoint and args the command', () => {
  const { create } = containerSpec({ lease, group: 'g', service: webService(), replica: 0, generation: 1, network: 'n' })
  assert.equal(create.Entrypoint, ['sh', '-c'])
  assert.equal(create.Cmd, ['echo web starting; exec httpd -f -v -p 8080 -h /www'])
  assert.equal(create.Env, ['GREETING=hello'])
})

test('persistent storage becomes a named volume per replica; ram storage a sized tmpfs', () => {
  const svc = service('db', {
    resources: { cpu: 500, memory: 512 * MiB, storage: [{ name: 'default', size: GiB, persistent: false }, { name: 'data', size: 5 * GiB, persistent: true, class: 'beta3' }, { name: 'shm', size: 64 * MiB, persistent: false, class: 'ram' }], gpu: { units: 0, models: [] } },
    storage: { data: { mount: '/var/lib/db', readOnly: false }, shm: { mount: '/dev/shm', readOnly: false } }
  })
  const spec = containerSpec({ lease, group: 'g', service: svc, replica: 2, generation: 1, network: 'n', storageOpt: false })
  assert.equal(spec.volumes.map((v) => v.name), [`souk-${lease.leaseId}-db-data-2`])
  assert.is(spec.volumes[0].labels['souk.lease'], lease.leaseId)
  assert.equal(spec.create.HostConfig?.Mounts, [
    { Type: 'volume', Source: spec.volumes[0].name, Target: '/var/lib/db', ReadOnly: false },
    { Type: 'tmpfs', Source: '', Target: '/dev/shm', ReadOnly: false, TmpfsOptions: { SizeBytes: 64 * MiB, Mode: 0o1777 } }
  ])
  assert.equal(spec.notices.map((n) => n.code).sort(), ['storage-size-not-enforced', 'volume-size-not-enforced'])
  // the ram volume's pages count against the container's memory: the limit holds both
  assert.is(spec.create.HostConfig?.Memory, 512 * MiB + 64 * MiB)
  assert.is(spec.create.HostConfig?.MemorySwap, 512 * MiB + 64 * MiB)
  // with a volume store the volumes are sized, and the notice goes
  const sized = containerSpec({ lease, group: 'g', service: svc, replica: 2, generation: 1, network: 'n', storageOpt: true, sizedVolumes: true, ociRuntime: 'runsc' })
  assert.equal(sized.notices, [])
  assert.equal(sized.create.HostConfig?.StorageOpt, { size: String(GiB) })
  assert.is(sized.create.HostConfig?.Runtime, 'runsc')
  assert.is(sized.volumes[0].size, 5 * GiB)
})

test('the last line: no container spec without a positive memory, CPU and pids limit', () => {
  const cases: Array<[string, Partial<ContainerSpecInput>, (s: ReturnType<typeof service>) => void, string]> = [
    ['memory 0', {}, (s) => { s.resources.memory = 0 }, 'services.web.resources.memory'],
    ['memory NaN', {}, (s) => { s.resources.memory = Number.NaN }, 'services.web.resources.memory'],
    ['memory below Docker\'s minimum', {}, (s) => { s.resources.memory = 1024 }, 'services.web.resources.memory'],
    ['negative cpu', {}, (s) => { s.resources.cpu = -1 }, 'services.web.resources.cpu'],
    ['cpu as text', {}, (s) => { (s.resources as any).cpu = '250m' }, 'services.web.resources.cpu'],
    ['pids 0', { pidsLimit: 0 }, () => {}, 'services.web'],
    ['pids unlimited', { pidsLimit: -1 }, () => {}, 'services.web']
  ]
  for (const [what, input, change, path] of cases) {
    const svc = webService()
    change(svc)
    assert.throws(() => containerSpec({ lease, group: 'g', service: svc, replica: 0, generation: 1, network: 'n', ...input }),
      (err: unknown) => err instanceof ContainerLimitsError && err.path === path, what)
  }
})

test('what Docker cannot honour is reported with its path, not dropped', () => {
  const m = manifestOf(webService({ expose: [{ port: 8080, as: 80, proto: 'tcp', to: [{ global: true, ip: 'myendpoint' }], accept: ['shop.example.com'] }] }))
  m.endpoints = { myendpoint: { kind: 'ip' } }
  const notices = commonNotices(m, planServices(m), 'docker')
  assert.equal(notices.map((n) => [n.path, n.code]), [
    ['services.web.expose[0].to[0].ip', 'ip-endpoint'],
    ['services.web.expose[0].accept', 'accept-hostnames'],
    ['services.web.expose[0].as', 'port-remapped'],
    ['endpoints.myendpoint', 'ip-endpoint']
  ])
})

test('a manifest a runtime cannot run is refused naming the field', () => {
  const bad = manifestOf(webService({ expose: [{ port: 70000, as: 80, proto: 'tcp', to: [{ global: true }], accept: [] }] }))
  assert.throws(() => planServices(bad), (err: unknown) => err instanceof UnsupportedManifestError && err.path === 'services.web.expose[0].port')
  const unmounted = manifestOf(webService({ storage: { data: { mount: '/data', readOnly: false } } }))
  assert.throws(() => planServices(unmounted), /services\.web\.params\.storage\.data: names a volume that profile web does not define/)
})

test.run()
