// The Kubernetes runtime's Ingress objects, against the in-test API server (no cluster can run
// here): which hosts and backends a lease's HTTP services get, which `accept` names are refused,
// and that update, status, reconcile and close keep the Ingresses right.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as k8s from '@kubernetes/client-node'
import { kubernetesRuntime, nginxAnnotations } from '../../src/runtime/index.ts'
import type { KubernetesRuntime, KubernetesRuntimeInit } from '../../src/runtime/index.ts'
import { leaseHostname } from '../../src/runtime/ingress/index.ts'
import type { Expose } from '../../src/sdl/types.ts'
import { readIngressRecords } from '../../src/runtime/kubernetes-ingress.ts'
import { ANNOTATION_INGRESS } from '../../src/runtime/constants.ts'
import { startKubeApiServer } from './kube-api-server.ts'
import type { KubeApiServer } from './kube-api-server.ts'
import { manifestOf, newLease, webService } from './manifests.ts'

const DOMAIN = 'ingress.example.com'
let api: KubeApiServer
let runtime: KubernetesRuntime

function connect (over: KubernetesRuntimeInit = {}): KubernetesRuntime {
  const kubeConfig = new k8s.KubeConfig()
  kubeConfig.loadFromString(api.kubeconfig())
  return kubernetesRuntime({ instance: 'p1', nodeHost: '198.51.100.7', ingressDomain: DOMAIN, ingressClassName: 'nginx', ...over })({ kubeConfig })
}

const nsOf = (leaseId: string): string => `souk-${leaseId.slice(0, 58)}`
const hostsOf = (ing: Record<string, any> | undefined): string[] => (ing?.spec.rules ?? []).map((r: any) => r.host)

/** a call to the API server as a cluster user (kubectl) would make it */
async function kubectl (method: string, path: string, body?: unknown): Promise<Response> {
  return await fetch(`${api.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body != null ? { body: JSON.stringify(body) } : {}) })
}

function http (port: number, as: number, accept: string[] = [], httpOptions?: Expose['httpOptions']): Expose {
  return { port, as, proto: 'tcp', to: [{ global: true }], accept, ...(httpOptions != null ? { httpOptions } : {}) }
}

test.before(async () => {
  api = await startKubeApiServer()
  runtime = connect()
})
test.after(async () => { await api.close() })

const shop = newLease()
const shopNs = nsOf(shop.leaseId)
const shopHost = leaseHostname('web', shop.leaseId, DOMAIN)
const options = { maxBodySize: 8 * 1024 * 1024, readTimeout: 30_500, sendTimeout: 10_000, nextTries: 5, nextTimeout: 2_000, nextCases: ['error', 'timeout', '502', '503'] }
const shopManifest = manifestOf(webService({
  expose: [
    http(8080, 80, ['shop.example.com', '*.shop.example.org', 'www.ingress.example.com'], options),
    // not HTTP: stays on the NodePort
    { port: 5432, as: 5432, proto: 'tcp', to: [{ global: true }], accept: [] }
  ]
}))

test('deploy makes an Ingress with a rule per host, backed by the service\'s ClusterIP Service', async () => {
  const deployed = await runtime.deploy(shop, shopManifest)
  const ing = api.get('ingresses', shopNs, 'web-8080')
  assert.ok(ing, 'the Ingress exists in the lease namespace')
  assert.is(ing!.apiVersion, 'networking.k8s.io/v1')
  assert.is(ing!.spec.ingressClassName, 'nginx')
  assert.equal(hostsOf(ing), [shopHost, 'shop.example.com', '*.shop.example.org'])
  const svc = api.get('services', shopNs, 'web')!
  assert.is(svc.spec.type, 'ClusterIP')
  for (const rule of ing!.spec.rules) {
    assert.equal(rule.http.paths, [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 8080 } } } }])
    // the backend names a port the Service really has
    assert.ok(svc.spec.ports.some((p: any) => p.port === rule.http.paths[0].backend.service.port.number))
  }
  assert.is(ing!.metadata.labels['souk.lease'], shop.leaseId.slice(0, 32))
  assert.is(ing!.metadata.labels['souk.instance'], 'p1')
  assert.is(ing!.metadata.labels['souk.tenant'], shop.tenant)
  assert.is(ing!.metadata.labels['souk.service'], 'web')
  assert.equal(ing!.metadata.annotations, {
    'nginx.ingress.kubernetes.io/proxy-body-size': String(8 * 1024 * 1024),
    'nginx.ingress.kubernetes.io/proxy-read-timeout': '31',
    'nginx.ingress.kubernetes.io/proxy-send-timeout': '10',
    'nginx.ingress.kubernetes.io/proxy-next-upstream-tries': '5',
    'nginx.ingress.kubernetes.io/proxy-next-upstream-timeout': '2',
    'nginx.ingress.kubernetes.io/proxy-next-upstream': 'error timeout http_502 http_503'
  })
  // HTTP leaves through the controller; the database port keeps its NodePort
  const global = api.get('services', shopNs, 'web-global')!
  assert.equal(global.spec.ports.map((p: any) => p.port), [5432])
  // a name under the provider's own domain belongs to the provider's generated names
  const notice = deployed.notices.find((n) => n.message.includes('www.ingress.example.com'))
  assert.ok(notice, JSON.stringify(deployed.notices))
  assert.is(notice!.code, 'accept-hostnames')
  assert.is(notice!.path, 'services.web.expose[0].accept[2]')
  assert.is(api.invalid.length, 0, JSON.stringify(api.invalid))
})

test('status lists http://<host> for each Ingress host, the generated one first', async () => {
  const st = await runtime.status(shop.leaseId)
  const web = st.services.find((s) => s.name === 'web')!
  const nodePort = api.get('services', shopNs, 'web-global')!.spec.ports[0].nodePort as number
  assert.equal(web.urls.map((u) => u.url), [`http://${shopHost}`, 'http://shop.example.com', `tcp://198.51.100.7:${nodePort}`])
  assert.equal(web.urls.slice(0, 2).map((u) => [u.port, u.as, u.proto, u.hostPort]), [[8080, 80, 'tcp', 80], [8080, 80, 'tcp', 80]])
})

test('an accept name another lease or another Ingress of the cluster holds is refused', async () => {
  // someone else's Ingress, not souk's
  assert.is((await kubectl('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ops' } })).status, 201)
  const grafana = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'grafana' }, spec: { rules: [{ host: 'grafana.ops.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'grafana', port: { number: 3000 } } } }] } }] } }
  assert.is((await kubectl('POST', '/apis/networking.k8s.io/v1/namespaces/ops/ingresses', grafana)).status, 201)
  const other = newLease()
  const deployed = await runtime.deploy(other, manifestOf(webService({ expose: [http(8080, 80, ['shop.example.com', 'grafana.ops.example.com', 'other.example.com'])] })))
  assert.equal(hostsOf(api.get('ingresses', nsOf(other.leaseId), 'web-8080')), [leaseHostname('web', other.leaseId, DOMAIN), 'other.example.com'])
  const refused = deployed.notices.filter((n) => n.code === 'accept-hostnames').map((n) => n.message)
  assert.ok(refused.some((m) => m.startsWith('shop.example.com is not routed')), refused.join('\n'))
  assert.ok(refused.some((m) => m.startsWith('grafana.ops.example.com is not routed')), refused.join('\n'))
  // the first lease keeps its name
  assert.ok(hostsOf(api.get('ingresses', shopNs, 'web-8080')).includes('shop.example.com'))
  await runtime.close(other.leaseId)
})

test('update changes the hosts with the manifest, and a freed name can be claimed again', async () => {
  const st = await runtime.update(shop.leaseId, manifestOf(webService({ expose: [http(8080, 80, ['new.example.com'])] })))
  assert.equal(hostsOf(api.get('ingresses', shopNs, 'web-8080')), [shopHost, 'new.example.com'])
  assert.is(api.get('ingresses', shopNs, 'web-8080')!.metadata.annotations, undefined, 'http_options gone, annotations gone')
  assert.equal(st.services[0].urls.map((u) => u.url), [`http://${shopHost}`, 'http://new.example.com'])
  assert.is(api.get('services', shopNs, 'web-global'), undefined, 'no global port left outside the Ingress')
  const next = newLease()
  await runtime.deploy(next, manifestOf(webService({ expose: [http(8080, 80, ['shop.example.com'])] })))
  assert.ok(hostsOf(api.get('ingresses', nsOf(next.leaseId), 'web-8080')).includes('shop.example.com'))
  await runtime.close(next.leaseId)
  // a second HTTP port with its own accept name gets its own Ingress (annotations are per object)
  await runtime.update(shop.leaseId, manifestOf(webService({ expose: [http(8080, 80), http(9000, 9000, ['admin.example.com'], { readTimeout: 120_000 })] })))
  assert.equal(hostsOf(api.get('ingresses', shopNs, 'web-8080')), [shopHost])
  assert.equal(hostsOf(api.get('ingresses', shopNs, 'web-9000')), ['admin.example.com'])
  assert.equal(api.get('ingresses', shopNs, 'web-9000')!.metadata.annotations, { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '120' })
  // no HTTP port left: no Ingress left
  await runtime.update(shop.leaseId, manifestOf(webService({ expose: [{ port: 5432, as: 5432, proto: 'tcp', to: [{ global: true }], accept: [] }] })))
  assert.equal(api.list('ingresses', shopNs), [])
  await runtime.update(shop.leaseId, shopManifest)
  assert.equal(hostsOf(api.get('ingresses', shopNs, 'web-8080')), [shopHost, 'shop.example.com', '*.shop.example.org'])
  assert.is(api.invalid.length, 0, JSON.stringify(api.invalid))
})

test('an update whose Ingress the API refuses leaves the previous hosts and workloads', async () => {
  api.failNext('PUT', /\/ingresses\/web-8080$/, 422)
  try {
    await runtime.update(shop.leaseId, manifestOf(webService({ count: 2, expose: [http(8080, 80, ['elsewhere.example.com'])] })))
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.code, 'ERR_UPDATE_FAILED')
  }
  assert.equal(hostsOf(api.get('ingresses', shopNs, 'web-8080')), [shopHost, 'shop.example.com', '*.shop.example.org'])
  assert.is(api.get('deployments', shopNs, 'web')!.spec.replicas, 1)
})

test('reconcile after a restart puts back an Ingress deleted or changed by hand', async () => {
  const original = structuredClone(api.get('ingresses', shopNs, 'web-8080')!)
  assert.is((await kubectl('DELETE', `/apis/networking.k8s.io/v1/namespaces/${shopNs}/ingresses/web-8080`)).status, 200)
  assert.is(api.get('ingresses', shopNs, 'web-8080'), undefined)
  const restarted = connect()
  assert.equal(await restarted.reconcile(new Set([shop.leaseId])), { adopted: [shop.leaseId], removed: [] })
  const back = api.get('ingresses', shopNs, 'web-8080')
  assert.equal(hostsOf(back), hostsOf(original))
  assert.equal(back!.spec, original.spec)
  assert.equal(back!.metadata.annotations, original.metadata.annotations)
  // someone points a host elsewhere and drops the body-size limit
  const edited = structuredClone(back!)
  edited.spec.rules[1].http.paths[0].backend.service = { name: 'intruder', port: { number: 80 } }
  delete edited.metadata.annotations['nginx.ingress.kubernetes.io/proxy-body-size']
  assert.is((await kubectl('PUT', `/apis/networking.k8s.io/v1/namespaces/${shopNs}/ingresses/web-8080`, edited)).status, 200)
  // and adds an Ingress of their own under the lease's labels
  const stray = { ...structuredClone(original), metadata: { name: 'stray', labels: original.metadata.labels } }
  assert.is((await kubectl('POST', `/apis/networking.k8s.io/v1/namespaces/${shopNs}/ingresses`, stray)).status, 201)
  await connect().reconcile(new Set([shop.leaseId]))
  assert.equal(api.get('ingresses', shopNs, 'web-8080')!.spec, original.spec)
  assert.equal(api.get('ingresses', shopNs, 'web-8080')!.metadata.annotations, original.metadata.annotations)
  assert.is(api.get('ingresses', shopNs, 'stray'), undefined)
})

test('close removes the Ingresses before the namespace', async () => {
  const before = api.requests.length
  await runtime.close(shop.leaseId)
  const calls = api.requests.slice(before).filter((r) => r.method === 'DELETE').map((r) => r.path)
  assert.equal(calls, [`/apis/networking.k8s.io/v1/namespaces/${shopNs}/ingresses/web-8080`, `/api/v1/namespaces/${shopNs}`])
  assert.equal(api.list('ingresses', shopNs), [])
})

test('without an ingress domain no Ingress is made and HTTP stays on the NodePort', async () => {
  const plain = connect({ ingressDomain: undefined, ingressClassName: undefined })
  const lease = newLease()
  const before = api.requests.length
  const st = await plain.deploy(lease, manifestOf(webService({ expose: [http(8080, 80, ['plain.example.com'])] })))
  assert.ok(api.requests.slice(before).every((r) => !r.path.includes('ingresses')))
  assert.match(st.services[0].urls[0].url, /^http:\/\/198\.51\.100\.7:\d+$/)
  await plain.close(lease.leaseId)
  // and with a domain but no class, the cluster's default class is left to choose
  const classless = connect({ ingressClassName: undefined })
  const l2 = newLease()
  await classless.deploy(l2, manifestOf(webService()))
  assert.is(api.get('ingresses', nsOf(l2.leaseId), 'web-8080')!.spec.ingressClassName, undefined)
  await classless.close(l2.leaseId)
})

test('the API server refuses an Ingress a cluster would refuse', async () => {
  const base = (rule: unknown): unknown => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'bad' }, spec: { rules: [rule] } })
  const backend = { service: { name: 'web', port: { number: 80 } } }
  for (const rule of [
    { host: '10.0.0.1', http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } },
    { host: 'a.*.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } },
    { host: 'ok.example.com', http: { paths: [{ path: '/', backend }] } },
    { host: 'ok.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: {} } } }] } }
  ]) {
    const r = await kubectl('POST', '/apis/networking.k8s.io/v1/namespaces/ops/ingresses', base(rule))
    assert.is(r.status, 422, JSON.stringify(rule))
  }
  assert.is(api.get('ingresses', 'ops', 'bad'), undefined)
  api.invalid.length = 0
})

test('http_options map to ingress-nginx annotations only where the manifest sets them', () => {
  assert.equal(nginxAnnotations(undefined), {})
  assert.equal(nginxAnnotations({ nextCases: ['off'] }), { 'nginx.ingress.kubernetes.io/proxy-next-upstream': 'off' })
  assert.equal(nginxAnnotations({ readTimeout: 1 }), { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '1' })
})

test('ingress records read back from a namespace annotation only when every field has its shape', () => {
  const record = { service: 'web', port: 8080, hosts: [{ host: 'shop.example.com', generated: false }], annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' } }
  const read = (v: unknown): unknown => readIngressRecords({ [ANNOTATION_INGRESS]: typeof v === 'string' ? v : JSON.stringify(v) })
  assert.equal(read([record]), [record], 'a well-formed record')
  assert.is(readIngressRecords({}), undefined, 'no annotation')
  // someone with access to the namespace edited the annotation: nothing of it is trusted
  for (const [what, bad] of [
    ['not JSON', '[{'],
    ['not a list', record],
    ['a null entry', [null]],
    ['port 0', [{ ...record, port: 0 }]],
    ['port 65536', [{ ...record, port: 65536 }]],
    ['a port in text', [{ ...record, port: '8080' }]],
    ['no service', [{ ...record, service: undefined }]],
    ['hosts not a list', [{ ...record, hosts: 'shop.example.com' }]],
    ['a host that is no hostname', [{ ...record, hosts: [{ host: 'shop example', generated: false }] }]],
    ['generated not a boolean', [{ ...record, hosts: [{ host: 'shop.example.com', generated: 'no' }] }]],
    ['an annotation that is not text', [{ ...record, annotations: { a: 1 } }]],
    ['no annotations', [{ ...record, annotations: null }]]
  ] as Array<[string, unknown]>) {
    assert.is(read(bad), undefined, what)
  }
})

test.run()
