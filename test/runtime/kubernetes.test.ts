// The Kubernetes runtime against the in-test API server (no cluster can run here): what a
// lease becomes in the cluster, and that status, logs, update and close work through the API.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as k8s from '@kubernetes/client-node'
import { kubernetesRuntime, LeaseExistsError, RuntimeUnavailableError, UpdateFailedError } from '../../src/runtime/index.ts'
import type { KubernetesRuntime } from '../../src/runtime/index.ts'
import { startKubeApiServer } from './kube-api-server.ts'
import type { KubeApiServer } from './kube-api-server.ts'
import { GiB, MiB, manifestOf, newLease, persistentStorage, service, webService } from './manifests.ts'

let api: KubeApiServer
let runtime: KubernetesRuntime

/** a stored object that must exist */
function must (plural: string, namespace: string | undefined, name: string): Record<string, any> {
  const o = api.get(plural, namespace, name)
  if (o == null) throw new Error(`${plural} ${namespace ?? ''}/${name} does not exist`)
  return o
}

function connect (instance = 'p1'): KubernetesRuntime {
  const kubeConfig = new k8s.KubeConfig()
  kubeConfig.loadFromString(api.kubeconfig())
  return kubernetesRuntime({ instance, nodeHost: '198.51.100.7', eventPollMs: 20 })({ kubeConfig })
}

test.before(async () => {
  api = await startKubeApiServer()
  runtime = connect()
})
test.after(async () => { await api.close() })

const web = newLease()
const ns = `souk-${web.leaseId.slice(0, 58)}`
const gpuService = service('train', {
  resources: { cpu: 8000, memory: 64 * GiB, storage: [{ name: 'default', size: 100 * GiB, persistent: false }], gpu: { units: 2, models: [{ vendor: 'nvidia', model: 'h100', ram: 80 * GiB, interface: 'sxm' }, { vendor: 'nvidia', model: 'a100' }] } }
})

test('deploy creates a namespace for the lease, isolated by a NetworkPolicy', async () => {
  const deployed = await runtime.deploy(web, manifestOf(webService({ count: 2 }), gpuService))
  assert.is(deployed.runtime, 'kubernetes')
  const n = must('namespaces', undefined, ns)
  assert.ok(n, 'the namespace exists')
  assert.is(n.metadata.labels['souk.lease'], web.leaseId.slice(0, 32))
  assert.is(n.metadata.annotations['souk.lease/id'], web.leaseId)
  assert.is(n.metadata.labels['souk.tenant'], web.tenant)
  const np = must('networkpolicies', ns, 'souk-isolate')
  assert.equal(np.spec.podSelector, {})
  assert.equal(np.spec.policyTypes, ['Ingress', 'Egress'])
  assert.equal(np.spec.ingress, [{ from: [{ podSelector: {} }] }, { ports: [{ port: 8080, protocol: 'TCP' }] }])
  // egress: each other, the cluster DNS on port 53, and the internet without private, link-local and special ranges
  assert.equal(np.spec.egress[0], { to: [{ podSelector: {} }] })
  assert.equal(np.spec.egress[1].ports, [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }])
  assert.equal(np.spec.egress[1].to[0].namespaceSelector.matchLabels, { 'kubernetes.io/metadata.name': 'kube-system' })
  const internet = np.spec.egress[2].to[0].ipBlock
  assert.is(internet.cidr, '0.0.0.0/0')
  for (const r of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8']) assert.ok(internet.except.includes(r), `${r} is excluded`)
  assert.is(np.spec.egress.length, 3, 'no private range is allowed unless the provider says so')
  assert.is(api.invalid.length, 0, `every object matched its schema: ${JSON.stringify(api.invalid)}`)
})

test('pods run in a user namespace, and images are pulled every time: with credentials always', async () => {
  const d = must('deployments', ns, 'web')
  assert.is(d.spec.template.spec.hostUsers, false)
  assert.is(d.spec.template.spec.containers[0].imagePullPolicy, 'Always')
  const lease = newLease()
  const objs = (await import('../../src/runtime/index.ts')).kubernetesObjects(lease, manifestOf(webService({
    credentials: { host: 'registry.example.com', username: 'u', password: 'p' },
    resources: { cpu: 250, memory: 64 * MiB, storage: [{ name: 'default', size: 64 * MiB, persistent: false }, { name: 'shm', size: 32 * MiB, persistent: false, class: 'ram' }], gpu: { units: 0, models: [] } },
    storage: { shm: { mount: '/dev/shm', readOnly: false } }
  })), { imagePullPolicy: 'IfNotPresent', allowNetworks: ['10.9.0.0/16'], runAsNonRoot: true })
  const c = objs.workloads[0].obj.spec!.template.spec!.containers[0]
  assert.is(c.imagePullPolicy, 'Always', 'credentials: the registry checks them on every start')
  assert.is(c.securityContext!.runAsNonRoot, true)
  // the ram volume's pages count against the container's memory, so the limit holds both
  assert.is(c.resources!.limits!.memory, String(96 * MiB))
  const egress = objs.networkPolicy.spec!.egress!
  assert.equal(egress[3], { to: [{ ipBlock: { cidr: '10.9.0.0/16' } }] })
})

test('the API server refuses an object its kind\'s schema does not allow, as a cluster does', async () => {
  const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bad' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'x', image: 'y', resources: { limits: { memory: 'lots' } } }] } } } }
  const r = await fetch(`${api.url}/apis/apps/v1/namespaces/${ns}/deployments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bad) })
  assert.is(r.status, 422)
  const body = await r.json() as { reason: string, message: string }
  assert.is(body.reason, 'Invalid')
  assert.match(body.message, /memory/)
  const noContainers = { ...bad, metadata: { name: 'bad2' }, spec: { selector: {}, template: { spec: {} } } }
  const r2 = await fetch(`${api.url}/apis/apps/v1/namespaces/${ns}/deployments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(noContainers) })
  assert.is(r2.status, 422)
  assert.is(api.get('deployments', ns, 'bad'), undefined)
  api.invalid.length = 0
})

test('each service becomes a Deployment with its limits, and runs unprivileged', async () => {
  const d = must('deployments', ns, 'web')
  assert.is(d.spec.replicas, 2)
  assert.is(d.metadata.labels['souk.lease'], web.leaseId.slice(0, 32))
  const pod = d.spec.template
  assert.is(pod.metadata.labels['souk.service'], 'web')
  assert.is(pod.metadata.labels['souk.lease'], web.leaseId.slice(0, 32))
  assert.is(pod.spec.automountServiceAccountToken, false)
  const c = pod.spec.containers[0]
  assert.is(c.image, 'souk/busybox:latest')
  assert.equal(c.command, ['sh', '-c'])
  assert.equal(c.env, [{ name: 'GREETING', value: 'hello' }])
  assert.equal(c.resources.limits, { cpu: '250m', memory: String(64 * MiB), 'ephemeral-storage': String(256 * MiB) })
  assert.is(c.securityContext.privileged, false)
  assert.is(c.securityContext.allowPrivilegeEscalation, false)
  assert.equal(c.securityContext.capabilities.drop, ['ALL'])
})

test('a GPU service gets nvidia.com/gpu limits and may only land on nodes with an acceptable model', async () => {
  const d = must('deployments', ns, 'train')
  const c = d.spec.template.spec.containers[0]
  assert.is(c.resources.limits['nvidia.com/gpu'], '2')
  assert.is(c.resources.requests.cpu, '8000m')
  assert.equal(d.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms, [
    { matchExpressions: [{ key: 'souk.gpu/nvidia.h100', operator: 'In', values: ['true'] }] },
    { matchExpressions: [{ key: 'souk.gpu/nvidia.a100', operator: 'In', values: ['true'] }] }
  ])
  assert.equal(d.spec.strategy, { type: 'Recreate' })
})

test('a globally exposed port gets a NodePort Service and its URL is reported', async () => {
  const internal = must('services', ns, 'web')
  assert.is(internal.spec.type, 'ClusterIP')
  assert.equal(internal.spec.selector, { 'souk.service': 'web' })
  const global = must('services', ns, 'web-global')
  assert.is(global.spec.type, 'NodePort')
  assert.is(global.spec.ports[0].port, 80)
  assert.is(global.spec.ports[0].targetPort, 8080)
  const st = await runtime.status(web.leaseId)
  const svc = st.services.find((s) => s.name === 'web')!
  assert.equal(svc.urls.map((u) => u.url), [`http://198.51.100.7:${global.spec.ports[0].nodePort as number}`])
})

test('status lists every service with its replicas', async () => {
  const st = await runtime.status(web.leaseId)
  assert.equal(st.services.map((s) => [s.name, s.count, s.ready]), [['train', 1, 1], ['web', 2, 2]])
  assert.ok(st.services[1].replicas.every((r) => r.state === 'running' && r.name.startsWith('web-')))
  assert.is(st.tenant, web.tenant)
})

test('deploying the same lease twice is refused', async () => {
  try {
    await runtime.deploy(web, manifestOf(webService()))
    assert.unreachable()
  } catch (err) {
    assert.instance(err, LeaseExistsError)
  }
})

test('logs come from the pod log API, with tail and follow', async () => {
  const lines: string[] = []
  for await (const l of runtime.logs(web.leaseId, { service: 'web' })) lines.push(`${l.replica}: ${l.line}`)
  assert.is(lines.length, 4)
  assert.ok(lines.every((l) => /^web-\S+: (web started|listening on 8080)$/.test(l)), lines.join('\n'))
  const logReq = api.requests.find((r) => r.path.endsWith('/log'))!
  assert.match(logReq.path, new RegExp(`^/api/v1/namespaces/${ns}/pods/web-[^/]+/log$`))
  const tail: string[] = []
  for await (const l of runtime.logs(web.leaseId, { service: 'train', tail: 1 })) tail.push(l.line)
  assert.equal(tail, ['listening on 0'])

  const ac = new AbortController()
  const followed: string[] = []
  const pod = api.list('pods', ns).find((p) => p.metadata.labels['souk.service'] === 'train')!
  const reader = (async () => {
    for await (const l of runtime.logs(web.leaseId, { service: 'train', follow: true, tail: 0, signal: ac.signal })) {
      followed.push(l.line)
      if (l.line === 'epoch 1 done') ac.abort()
    }
  })()
  // wait until the follow request is open, then the service prints a line
  for (let i = 0; i < 50 && !api.requests.some((r) => r.path.endsWith(`${pod.metadata.name as string}/log`) && r.query?.includes('follow=true')); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  api.appendLog(ns, pod.metadata.name, 'epoch 1 done')
  const timer = setTimeout(() => { ac.abort() }, 3000)
  await reader
  clearTimeout(timer)
  assert.equal(followed, ['epoch 1 done'])
})

test('exec runs a command in a pod over the exec WebSocket: output, stdin and exit codes', async () => {
  const text = async (h: Awaited<ReturnType<KubernetesRuntime['exec']>>): Promise<string> => {
    let out = ''
    for await (const o of h.output) out += `${o.stream}:${Buffer.from(o.data).toString()}`
    return out
  }
  const echo = await runtime.exec(web.leaseId, { service: 'web', command: ['echo', 'hello', 'souk'] })
  assert.is(await text(echo), 'stdout:hello souk\n')
  assert.is(await echo.exitCode, 0)
  const req = api.requests.findLast((r) => r.path.endsWith('/exec'))!
  assert.match(req.path, new RegExp(`^/api/v1/namespaces/${ns}/pods/web-[^/]+/exec$`))
  const q = new URLSearchParams(req.query)
  assert.equal(q.getAll('command'), ['echo', 'hello', 'souk'])
  assert.is(q.get('container'), 'web')
  // stdin reaches the process, and closing it ends the process
  const cat = await runtime.exec(web.leaseId, { service: 'web', command: ['cat'] })
  cat.stdin.write('typed in\n')
  cat.stdin.end()
  assert.is(await text(cat), 'stdout:typed in\n')
  assert.is(await cat.exitCode, 0)
  // a non-zero exit is the command's exit code, not an error
  const fail = await runtime.exec(web.leaseId, { service: 'web', command: ['sh', '-c', 'exit 3'] })
  await text(fail)
  assert.is(await fail.exitCode, 3)
  // a command the container does not have is an error that says so
  const missing = await runtime.exec(web.leaseId, { service: 'web', command: ['nope'] })
  await text(missing)
  try {
    await missing.exitCode
    assert.unreachable('exec of a missing command succeeded')
  } catch (err: any) {
    assert.is(err.code, 'ERR_RUNTIME_REQUEST_REJECTED')
    assert.match(err.message, /exec failed: .*"nope": executable file not found/)
  }
  // a service the lease does not run has no pod to exec in
  try {
    await runtime.exec(web.leaseId, { service: 'db', command: ['echo'] })
    assert.unreachable('exec in a service the lease does not have')
  } catch (err: any) {
    assert.match(err.message, /no running replica of service "db"/)
  }
})

test('events report what happened to the lease pods', async () => {
  const ac = new AbortController()
  const seen: string[] = []
  // bounded: a lease without events fails here instead of waiting for ever
  const timer = setTimeout(() => { ac.abort() }, 10_000)
  for await (const e of runtime.events(web.leaseId, { signal: ac.signal })) {
    seen.push(`${e.service}:${e.type}`)
    if (seen.length === 6) ac.abort()
  }
  clearTimeout(timer)
  assert.ok(seen.includes('web:Started') && seen.includes('train:Scheduled'), seen.join(','))
})

test('a service with persistent storage becomes a StatefulSet with a volume claim', async () => {
  const lease = newLease()
  await runtime.deploy(lease, manifestOf(service('db', {
    resources: { cpu: 500, memory: 256 * MiB, storage: persistentStorage(5 * GiB), gpu: { units: 0, models: [] } },
    storage: { data: { mount: '/var/lib/db', readOnly: false } }
  })))
  const lns = `souk-${lease.leaseId.slice(0, 58)}`
  const s = must('statefulsets', lns, 'db')
  assert.ok(s)
  assert.is(api.get('deployments', lns, 'db'), undefined)
  assert.equal(s.spec.volumeClaimTemplates[0].spec, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: String(5 * GiB) } }, storageClassName: 'beta2' })
  assert.equal(s.spec.template.spec.containers[0].volumeMounts, [{ name: 'data', mountPath: '/var/lib/db', readOnly: false }])
  const st = await runtime.status(lease.leaseId)
  assert.equal(st.services[0].replicas.map((r) => [r.name, r.index]), [['db-0', 0]])
  await runtime.close(lease.leaseId)
})

test('an update the API rejects leaves the previous manifest running', async () => {
  const before = must('deployments', ns, 'web')
  api.failNext('PUT', /\/deployments\/train$/, 422)
  try {
    await runtime.update(web.leaseId, manifestOf(webService({ count: 3, image: 'souk/busybox:2' }), gpuService))
    assert.unreachable()
  } catch (err) {
    assert.instance(err, UpdateFailedError)
  }
  const after = must('deployments', ns, 'web')
  assert.is(after.spec.replicas, 2)
  assert.is(after.spec.template.spec.containers[0].image, before.spec.template.spec.containers[0].image)
})

test('an update rolls out the new manifest and removes dropped services', async () => {
  const nodePort = must('services', ns, 'web-global').spec.ports[0].nodePort
  const st = await runtime.update(web.leaseId, manifestOf(webService({ count: 3 })))
  assert.equal(st.services.map((s) => [s.name, s.count]), [['web', 3]])
  assert.is(api.get('deployments', ns, 'train'), undefined)
  assert.is(must('services', ns, 'web-global').spec.ports[0].nodePort, nodePort, 'the published port stays the same')
})

test('an update cut short between a service\'s new StatefulSet and its old Deployment is finished by running it again', async () => {
  const lease = newLease()
  const lns = `souk-${lease.leaseId.slice(0, 58)}`
  const plain = { resources: { cpu: 500, memory: 256 * MiB, storage: [{ name: 'default', size: GiB, persistent: false }], gpu: { units: 0, models: [] } } }
  const stateful = { resources: { cpu: 500, memory: 256 * MiB, storage: persistentStorage(5 * GiB), gpu: { units: 0, models: [] } }, storage: { data: { mount: '/var/lib/db', readOnly: false } } }
  await runtime.deploy(lease, manifestOf(service('db', plain)))
  try {
    assert.ok(must('deployments', lns, 'db'))
    // the provider dies after creating the StatefulSet: the Deployment is never deleted, nor the StatefulSet undone
    api.failNext('DELETE', /\/deployments\/db$/, 500)
    api.failNext('DELETE', /\/statefulsets\/db$/, 500)
    try {
      await runtime.update(lease.leaseId, manifestOf(service('db', stateful)))
      assert.unreachable()
    } catch (err) {
      assert.instance(err, UpdateFailedError)
    }
    assert.ok(api.get('deployments', lns, 'db') != null && api.get('statefulsets', lns, 'db') != null, 'both workloads serve db, as after a kill mid-rollout')
    // what a restarted provider does with the rollout it recorded: the same update again
    await runtime.update(lease.leaseId, manifestOf(service('db', stateful)))
    assert.ok(must('statefulsets', lns, 'db'))
    assert.is(api.get('deployments', lns, 'db'), undefined, 'one workload serves db')
  } finally {
    await runtime.close(lease.leaseId)
  }
})

test('an image the cluster cannot pull shows in status', async () => {
  const lease = newLease()
  api.missingImages.add('souk/not-here:1')
  await runtime.deploy(lease, manifestOf(webService({ image: 'souk/not-here:1' })))
  const st = await runtime.status(lease.leaseId)
  assert.equal(st.services[0].replicas.map((r) => [r.state, r.message]), [['pending', 'ImagePullBackOff']])
  await runtime.close(lease.leaseId)
})

test('a restarted provider adopts active leases and deletes the namespaces of inactive ones', async () => {
  const stale = newLease()
  await runtime.deploy(stale, manifestOf(webService()))
  const other = connect('another-provider')
  const foreign = newLease()
  await other.deploy(foreign, manifestOf(webService()))
  const restarted = connect()
  assert.equal((await restarted.list()).map((l) => l.leaseId).sort(), [web.leaseId, stale.leaseId].sort())
  const r = await restarted.reconcile(new Set([web.leaseId]))
  assert.equal(r, { adopted: [web.leaseId], removed: [stale.leaseId] })
  assert.is(api.get('namespaces', undefined, `souk-${stale.leaseId.slice(0, 58)}`), undefined)
  assert.ok(api.get('namespaces', undefined, `souk-${foreign.leaseId.slice(0, 58)}`), "another provider's lease is untouched")
  await other.close(foreign.leaseId)
})

test('an unreachable API is a transient error and reconcile removes nothing', async () => {
  const kubeConfig = new k8s.KubeConfig()
  kubeConfig.loadFromString(api.kubeconfig().replace(/server: .*/, 'server: http://127.0.0.1:1'))
  const down = kubernetesRuntime({ instance: 'p1' })({ kubeConfig })
  try {
    await down.reconcile(new Set())
    assert.unreachable()
  } catch (err) {
    assert.instance(err, RuntimeUnavailableError)
  }
  assert.ok(api.get('namespaces', undefined, ns))
})

test('close deletes the lease namespace, and is idempotent', async () => {
  await runtime.close(web.leaseId)
  assert.ok(api.requests.some((r) => r.method === 'DELETE' && r.path === `/api/v1/namespaces/${ns}`))
  assert.is(api.get('namespaces', undefined, ns), undefined)
  assert.equal(api.list('pods', ns), [])
  await runtime.close(web.leaseId)
  assert.equal(await runtime.list(), [])
})

test.run()
