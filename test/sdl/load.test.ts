// What a loaded file turns into: the manifest, the resource groups, totals and notices.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadSdl, loadSdlFile, formatTotals, SdlValidationError } from '../../src/sdl/index.ts'

const fullPath = new URL('../fixtures/sdl/valid/full.yaml', import.meta.url).pathname
const full = readFileSync(fullPath, 'utf8')

test('full.yaml: the manifest holds every field as written', async () => {
  const r = await loadSdlFile(fullPath)
  assert.is(r.manifest.version, '2.1')
  assert.equal(r.manifest.endpoints, { 'front-ip': { kind: 'ip' } })
  assert.equal(r.manifest.groups.map((g) => g.name), ['dc1'])
  const [web, worker] = r.manifest.groups[0].services
  assert.equal([web.name, worker.name], ['web', 'worker'])
  assert.is(web.image, 'souk/busybox:latest')
  assert.equal(web.command, ['sh', '-c'])
  assert.equal(web.args, ['httpd -f -p 8080'])
  assert.equal(web.env, ['GREETING=hello', 'EMPTY='])
  assert.equal(web.expose, [
    { port: 8080, as: 80, proto: 'tcp', to: [{ global: true }, { global: false, service: 'worker' }], accept: ['www.example.com'], httpOptions: { maxBodySize: 1048576, readTimeout: 50000, nextCases: ['error', '502'] } },
    { port: 9000, as: 9000, proto: 'udp', to: [{ global: true, ip: 'front-ip' }], accept: [] }
  ])
  assert.equal(web.storage, { data: { mount: '/data', readOnly: false }, cache: { mount: '/dev/shm', readOnly: false } })
  assert.equal(web.credentials, { host: 'registry.example.com', username: 'user', password: 'secret' })
  assert.equal(web.dependencies, ['worker'])
  assert.is(web.profile, 'web')
  assert.is(web.count, 2)
  assert.equal(web.resources, {
    cpu: 100,
    memory: 512 * 1024 ** 2,
    storage: [
      { name: 'default', size: 1024 ** 3, persistent: false },
      { name: 'data', size: 10 * 1024 ** 3, persistent: true, class: 'beta3' },
      { name: 'cache', size: 256 * 1024 ** 2, persistent: false, class: 'ram' }
    ],
    gpu: { units: 0, models: [] }
  })
  assert.is(worker.command, undefined)
  assert.equal(worker.env, ['MODE=worker'])
  assert.equal(worker.resources, {
    cpu: 500,
    memory: 1_500_000_000,
    storage: [{ name: 'default', size: 2 * 1024 ** 3, persistent: false }],
    gpu: { units: 1, models: [{ vendor: 'nvidia', model: 'h100', ram: 80 * 1024 ** 3, interface: 'sxm' }, { vendor: 'nvidia', model: 'a100' }] }
  })
})

test('full.yaml: resource groups, prices and totals', () => {
  const r = loadSdl(full)
  assert.is(r.groups.length, 1)
  const g = r.groups[0]
  assert.is(g.name, 'dc1')
  assert.equal(g.attributes, { region: 'eu-west', tier: '2' })
  assert.equal(g.signedBy, { allOf: [], anyOf: ['auditor-one'] })
  assert.equal(g.resources.map((x) => [x.service, x.count, x.price]), [
    ['web', 2, { denom: 'uakt', amount: '1000.50' }],
    ['worker', 1, { denom: 'uakt', amount: '250' }]
  ])
  assert.equal(g.maxPrice, { denom: 'uakt', amount: '2251' })
  assert.equal(r.totals, {
    cpu: 700,
    memory: 2 * 512 * 1024 ** 2 + 1_500_000_000,
    storage: { ephemeral: 2 * 1024 ** 3 + 2 * 1024 ** 3, beta3: 20 * 1024 ** 3, ram: 512 * 1024 ** 2 },
    gpu: { 'nvidia/a100|h100': 1 },
    count: 3
  })
  assert.is(formatTotals(r.totals), 'cpu 0.7, memory ~2.4Gi, storage 4Gi + 20Gi beta3 + 512Mi ram, gpu 1×nvidia/a100|h100, 3 replicas')
  assert.equal(r.notices, [{ path: 'services.web.expose[1].to[0].ip', message: 'asks for the dedicated IP endpoint "front-ip"; only providers that lease IP addresses can honour it' }])
})

test('groups are per placement, sorted by name; services sorted by name', () => {
  const text = full
    .replace('  placement:\n    dc1:', '  placement:\n    zz:\n      pricing:\n        worker: { denom: uact, amount: 7 }\n    dc1:')
    .replace('  worker:\n    dc1:\n      profile: worker', '  worker:\n    zz:\n      profile: worker')
  const r = loadSdl(text)
  assert.equal(r.manifest.groups.map((g) => [g.name, g.services.map((s) => s.name)]), [['dc1', ['web']], ['zz', ['worker']]])
  assert.equal(r.groups.map((g) => [g.name, g.maxPrice]), [['dc1', { denom: 'uakt', amount: '2001' }], ['zz', { denom: 'uact', amount: '7' }]])
})

test('defaults: as = port, proto tcp, readOnly false, unnamed volume "default", persistent class "default"', () => {
  const text = [
    'version: 2.0',
    'services:',
    '  db:',
    '    image: postgres',
    '    expose: [{ port: "5432" }]',
    '    params: { storage: { data: { mount: /var/lib/postgresql/data } } }',
    'profiles:',
    '  compute:',
    '    db:',
    '      resources:',
    '        cpu: { units: "1" }',
    '        memory: { size: 1073741824 }',
    '        storage: [{ size: 1Gi }, { name: data, size: 5Gi, attributes: { persistent: "true" } }]',
    '  placement: { dc: { attributes: ~, pricing: { db: { denom: uakt, amount: "0.000001" } } } }',
    'deployment: { db: { dc: { profile: db, count: "2" } } }'
  ].join('\n')
  const r = loadSdl(text)
  const s = r.manifest.groups[0].services[0]
  assert.is(r.manifest.version, '2.0')
  assert.equal(s.expose, [{ port: 5432, as: 5432, proto: 'tcp', to: [], accept: [] }])
  assert.equal(s.storage, { data: { mount: '/var/lib/postgresql/data', readOnly: false } })
  assert.equal(s.resources.storage, [{ name: 'default', size: 1024 ** 3, persistent: false }, { name: 'data', size: 5 * 1024 ** 3, persistent: true, class: 'default' }])
  assert.is(s.count, 2)
  assert.equal(r.groups[0].maxPrice, { denom: 'uakt', amount: '0.000002' })
  assert.ok(r.notices.some((n) => n.path === 'profiles.compute.db.resources.storage[1].attributes.class'))
})

test('unknown keys are notices; an undeployed service is a notice', () => {
  const text = full.replace('    env: [MODE=worker]\n', '    env: [MODE=worker]\n    restart: always\n') +
    'extra: 1\n'
  const r = loadSdl(text.replace('  worker:\n    dc1:\n      profile: worker\n      count: 1\n', '').replace('    dependencies:\n      - service: worker\n', ''))
  const n = r.notices.map((x) => x.path)
  assert.ok(n.includes('services.worker.restart'))
  assert.ok(n.includes('extra'))
  assert.ok(r.notices.some((x) => x.path === 'services.worker' && /not deployed/.test(x.message)))
})

test('a validation error carries the notices found on the way', () => {
  try {
    loadSdl(full.replace('count: 2', 'count: -2'))
    assert.unreachable()
  } catch (e) {
    assert.instance(e, SdlValidationError)
    assert.equal((e as SdlValidationError).errors, [{ path: 'deployment.web.dc1.count', message: 'must be an integer 1-1000' }])
    assert.ok((e as SdlValidationError).notices.length > 0)
  }
})



test('params.tee becomes the placement attribute a provider must advertise, with a notice that says what it rests on', () => {
  const sdl = (tee: string, gpu = ''): string => `version: "2.0"
services:
  web:
    image: souk/busybox:latest
    params:
      tee: ${tee}
  side:
    image: souk/busybox:latest
profiles:
  compute:
    p:
      resources:
        cpu: { units: 1 }
        memory: { size: 512Mi }
        storage: { size: 1Gi }${gpu}
  placement:
    dc:
      attributes: { region: eu }
      pricing:
        p: { denom: uakt, amount: 100 }
deployment:
  web:
    dc: { profile: p, count: 1 }
  side:
    dc: { profile: p, count: 1 }
`
  const cpu = loadSdl(sdl('cpu'))
  assert.equal(cpu.groups[0].attributes, { region: 'eu', tee: 'cpu' })
  const n = cpu.notices.find((x) => x.path === 'services.web.params.tee')
  assert.match(String(n?.message), /only providers that advertise the attribute tee=cpu bid on placement "dc" \(side runs there too\); souk verifies no attestation/)
  const gpu = loadSdl(sdl('{ type: tdx-gpu }', '\n        gpu: { units: 1, attributes: { vendor: { nvidia: } } }'))
  assert.equal(gpu.groups[0].attributes, { region: 'eu', tee: 'tdx-gpu' })
  // the manifest a provider runs is unchanged: the requirement travels in the order
  assert.equal(Object.keys(gpu.manifest.groups[0].services[0]).includes('tee'), false)
})

test.run()
