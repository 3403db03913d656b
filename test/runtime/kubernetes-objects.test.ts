// What a lease becomes in a cluster, as data (no API server): the isolation policy, pull secrets,
// storage, services, and the status read back from the objects the cluster describes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type * as k8s from '@kubernetes/client-node'
import { ContainerLimitsError, kubernetesObjects, leaseStatusOf, namespaceName, podState } from '../../src/runtime/index.ts'
import { kubernetesSandbox } from '../../src/runtime/kubernetes-objects.ts'
import { GiB, MiB, globalHttp, manifestOf, newLease, service, webService } from './manifests.ts'

const lease = newLease()

test('the NetworkPolicy admits the lease\'s own pods and its global ports, and lets pods out only to each other, DNS and the public internet', () => {
  const { networkPolicy } = kubernetesObjects(lease, manifestOf(webService()), { allowNetworks: ['10.1.2.0/24', 'fd00::/8'], blockNetworks: ['203.0.113.0/24'] })
  const spec = networkPolicy.spec!
  assert.is(networkPolicy.metadata?.namespace, namespaceName(lease.leaseId))
  assert.equal(spec.policyTypes, ['Ingress', 'Egress'])
  assert.equal(spec.ingress, [{ _from: [{ podSelector: {} }] }, { ports: [{ port: 8080, protocol: 'TCP' }] }])
  const egress = spec.egress!
  assert.equal(egress[0], { to: [{ podSelector: {} }] })
  assert.equal(egress[1].ports?.map((p) => [p.port, p.protocol]), [[53, 'UDP'], [53, 'TCP']])
  const internet = egress[2].to![0].ipBlock!
  assert.is(internet.cidr, '0.0.0.0/0')
  for (const c of ['10.0.0.0/8', '169.254.0.0/16', '192.168.0.0/16', '203.0.113.0/24']) assert.ok(internet.except!.includes(c), c)
  // the allowed private range is let through on its own; an IPv6 range cannot be written into this IPv4 policy
  assert.equal(egress[3], { to: [{ ipBlock: { cidr: '10.1.2.0/24' } }] })
  assert.is(egress.length, 4)
})

test('a service without global ports admits nothing from outside the lease', () => {
  const { networkPolicy } = kubernetesObjects(lease, manifestOf(service('worker')))
  assert.equal(networkPolicy.spec?.ingress, [{ _from: [{ podSelector: {} }] }])
})

test('registry credentials become a dockerconfigjson Secret the pods pull with, and such an image is always pulled', () => {
  const svc = webService({ credentials: { host: 'registry.example.com', username: 'u', password: 'p@ss' } })
  const objs = kubernetesObjects(lease, manifestOf(svc), { imagePullPolicy: 'IfNotPresent' })
  assert.is(objs.secrets.length, 1)
  const secret = objs.secrets[0]
  assert.is(secret.type, 'kubernetes.io/dockerconfigjson')
  const auths = JSON.parse(secret.stringData!['.dockerconfigjson']).auths
  assert.equal(auths['registry.example.com'], { username: 'u', password: 'p@ss', auth: Buffer.from('u:p@ss').toString('base64') })
  const pod = (objs.workloads[0].obj as k8s.V1Deployment).spec!.template.spec!
  assert.equal(pod.imagePullSecrets, [{ name: secret.metadata!.name! }])
  assert.is(pod.containers[0].imagePullPolicy, 'Always')
  // without credentials the provider's choice holds
  const plain = kubernetesObjects(lease, manifestOf(webService()), { imagePullPolicy: 'IfNotPresent' })
  assert.is((plain.workloads[0].obj as k8s.V1Deployment).spec!.template.spec!.containers[0].imagePullPolicy, 'IfNotPresent')
  assert.is(plain.secrets.length, 0)
})

test('ram storage is a memory emptyDir charged to the memory limit; the writable layer is an ephemeral-storage request', () => {
  const svc = webService({
    resources: { cpu: 500, memory: 128 * MiB, storage: [{ name: 'default', size: GiB, persistent: false }, { name: 'shm', size: 64 * MiB, persistent: false, class: 'ram' }], gpu: { units: 0, models: [] } },
    storage: { shm: { mount: '/dev/shm', readOnly: false } }
  })
  const w = kubernetesObjects(lease, manifestOf(svc)).workloads[0]
  assert.is(w.kind, 'Deployment')
  const pod = (w.obj as k8s.V1Deployment).spec!.template.spec!
  assert.equal(pod.volumes, [{ name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: String(64 * MiB) } }])
  const c = pod.containers[0]
  assert.equal(c.volumeMounts, [{ name: 'shm', mountPath: '/dev/shm', readOnly: false }])
  assert.is(c.resources?.limits?.memory, String(192 * MiB))
  assert.is(c.resources?.limits?.cpu, '500m')
  assert.is(c.resources?.requests?.['ephemeral-storage'], String(GiB))
})

test('persistent storage asks for a claim of the mapped StorageClass', () => {
  const svc = service('db', {
    resources: { cpu: 250, memory: 64 * MiB, storage: [{ name: 'data', size: 5 * GiB, persistent: true, class: 'beta2' }], gpu: { units: 0, models: [] } },
    storage: { data: { mount: '/var/lib/db', readOnly: false } }
  })
  const w = kubernetesObjects(lease, manifestOf(svc), { storageClasses: { beta2: 'fast-ssd' } }).workloads[0]
  assert.is(w.kind, 'StatefulSet')
  const claim = (w.obj as k8s.V1StatefulSet).spec!.volumeClaimTemplates![0]
  assert.is(claim.spec?.storageClassName, 'fast-ssd')
  assert.equal(claim.spec?.resources?.requests, { storage: String(5 * GiB) })
  assert.equal(claim.spec?.accessModes, ['ReadWriteOnce'])
})

test('global ports get a second Service of the provider\'s type, remembering how each URL is written', () => {
  const svc = webService({ expose: [globalHttp(8080, 80), { port: 9000, as: 9000, proto: 'udp', to: [{ global: true }], accept: [] }, { port: 5432, as: 5432, proto: 'tcp', to: [{ service: 'x', global: false }], accept: [] }] })
  const services = kubernetesObjects(lease, manifestOf(svc), { globalServiceType: 'LoadBalancer' }).services
  assert.equal(services.map((s) => [s.metadata?.name, s.spec?.type]), [['web', 'ClusterIP'], ['web-global', 'LoadBalancer']])
  assert.equal(services[0].spec?.ports?.map((p) => `${p.port}/${p.protocol}`), ['8080/TCP', '9000/UDP', '5432/TCP'])
  assert.equal(services[1].spec?.ports?.map((p) => `${p.port}->${String(p.targetPort)}/${p.protocol}`), ['80->8080/TCP', '9000->9000/UDP'])
  assert.equal(JSON.parse(services[1].metadata!.annotations!['souk.expose']).map((e: { s: string }) => e.s), ['http', 'udp'])
})

test('labels carry the lease and its parties within Kubernetes\'s label rules; the full lease ID is an annotation', () => {
  const odd = { ...lease, tenant: '--tenant with spaces & symbols--' }
  const { namespace } = kubernetesObjects(odd, manifestOf(webService()), { instance: 'souk-p1' })
  const labels = namespace.metadata!.labels!
  for (const v of Object.values(labels)) assert.match(v, /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/)
  assert.is(labels['souk.tenant'], 'tenant_with_spaces___symbols')
  assert.is(labels['souk.instance'], 'souk-p1')
  assert.is(namespace.metadata!.annotations!['souk.lease/id'], lease.leaseId)
})

test('no workload without a positive memory and CPU limit', () => {
  const bad = webService({ resources: { cpu: 0, memory: 64 * MiB, storage: [], gpu: { units: 0, models: [] } } })
  assert.throws(() => kubernetesObjects(lease, manifestOf(bad)), (err: unknown) => err instanceof ContainerLimitsError && /services\.web\.resources\.cpu/.test((err as Error).message))
})

const pod = (name: string, status: k8s.V1PodStatus, deleting = false): k8s.V1Pod => ({
  metadata: { name, labels: { 'souk.service': 'db' }, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
  status
})

test('a pod\'s state comes from its container first, then its phase', () => {
  assert.equal(podState(pod('a', { containerStatuses: [{ name: 'db', image: 'i', imageID: '', ready: true, restartCount: 2, state: { running: { startedAt: new Date('2026-01-02T03:04:05Z') } } }] })),
    { state: 'running', restarts: 2, startedAt: '2026-01-02T03:04:05.000Z' })
  assert.equal(podState(pod('a', { containerStatuses: [{ name: 'db', image: 'i', imageID: '', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } } }] })),
    { state: 'restarting', restarts: 5, message: 'CrashLoopBackOff' })
  assert.equal(podState(pod('a', { containerStatuses: [{ name: 'db', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] })),
    { state: 'failed', restarts: 0, exitCode: 137, message: 'OOMKilled' })
  assert.equal(podState(pod('a', { phase: 'Pending' })), { state: 'pending', restarts: 0 })
  assert.is(podState(pod('a', { phase: 'Running' }, true)).message, 'Terminating')
})

test('status lists each workload\'s replicas by ordinal, and its NodePort URLs on the node host', () => {
  const svc = service('db', {
    expose: [globalHttp(8080, 80)],
    resources: { cpu: 250, memory: 64 * MiB, storage: [{ name: 'data', size: GiB, persistent: true }], gpu: { units: 0, models: [] } },
    storage: { data: { mount: '/data', readOnly: false } }
  })
  const objs = kubernetesObjects(lease, manifestOf(svc))
  const global = objs.services.find((s) => s.metadata?.name === 'db-global')!
  global.spec!.ports![0].nodePort = 30080
  const s = leaseStatusOf(lease.leaseId, {
    namespace: objs.namespace,
    workloads: objs.workloads,
    pods: [pod('db-1', { phase: 'Pending' }), pod('db-0', { phase: 'Running' })],
    services: objs.services,
    ingresses: []
  }, '198.51.100.7')
  assert.is(s.tenant, lease.tenant)
  assert.is(s.services.length, 1)
  assert.equal(s.services[0].replicas.map((r) => [r.name, r.index, r.state]), [['db-0', 0, 'running'], ['db-1', 1, 'pending']])
  assert.is(s.services[0].ready, 1)
  assert.equal(s.services[0].urls.map((u) => u.url), ['http://198.51.100.7:30080'])
})

test('the sandbox report is read off the policy a lease would get', () => {
  const r = kubernetesSandbox({ allowNetworks: ['10.9.0.0/16'], userNamespaces: false })
  assert.is(r.network.isolation, 'networkpolicy')
  assert.equal(r.network.allowed, ['10.9.0.0/16'])
  assert.ok(r.network.blocked.includes('169.254.0.0/16'))
  assert.is(r.userNamespaces, false)
})

test.run()
