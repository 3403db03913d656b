// Kubernetes runtime: a namespace per lease holding one Deployment (StatefulSet when the
// service has persistent storage) per service, its Services and a NetworkPolicy that admits
// traffic only from inside the namespace and to the globally exposed ports, and lets pods reach
// only each other, the cluster's DNS and the internet (not private, link-local or blocked
// ranges). The namespace is the unit of cleanup: closing a lease deletes it and Kubernetes
// removes the rest.
import { PassThrough } from 'node:stream'
import { performance } from 'node:perf_hooks'
import * as k8s from '@kubernetes/client-node'
import {
  ANNOTATION_INGRESS, ANNOTATION_LEASE_ID, DEFAULT_API_TIMEOUT_MS, DEFAULT_CAP_ADD, DEFAULT_INSTANCE, KUBE_LEASE_LABEL_CHARS, LABEL_EXPOSE, LABEL_GROUP, LABEL_INSTANCE,
  LABEL_LEASE, LABEL_NOTICES, LABEL_PROVIDER, LABEL_SERVICE, LABEL_TENANT, NAME_PREFIX
} from './constants.ts'
import { PRIVATE_IPV4, parseCidr } from './address-ranges.ts'
import {
  AbortedError, ContainerLimitsError, DeployFailedError, LeaseExistsError, LeaseNotFoundError, RuntimeError, RuntimeRequestError, RuntimeUnavailableError,
  ServiceNotFoundError, UpdateFailedError
} from './errors.ts'
import { checkLeaseId, commonNotices, formatUrl, isGlobal, leaseNameKey, planServices, urlScheme } from './manifest-plan.ts'
import type { PlannedService } from './manifest-plan.ts'
import { ByteQueue, LineSplitter } from './streams.ts'
import { applyIngresses, claimedHosts, ingressesOf, ingressUrls, leaseIngresses, readIngressRecords, withoutRoutedPorts } from './kubernetes-ingress.ts'
import type { IngressClient } from './kubernetes-ingress.ts'
import type {
  ContainerRuntime, DeployedLease, DeployOptions, ExecHandle, ExecOptions, ExecOutput, LeaseRef, LeaseSummary, LogLine, LogOptions,
  ReconcileResult, ReplicaState, ReplicaStatus, RuntimeEvent, RuntimeNotice, SandboxReport, ServiceStatus, ServiceUrl
} from './interface.ts'
import type { Manifest } from '../sdl/types.ts'

export interface KubernetesRuntimeInit {
  /** path to a kubeconfig file; default: KUBECONFIG, ~/.kube/config or in-cluster */
  kubeconfig?: string
  /** kubeconfig context to use */
  context?: string
  /** how globally exposed ports leave the cluster; default NodePort */
  globalServiceType?: 'NodePort' | 'LoadBalancer'
  /** host written into NodePort URLs (a node's public address); default 127.0.0.1 */
  nodeHost?: string
  /** SDL storage class → StorageClass name; unmapped classes are used as written */
  storageClasses?: Record<string, string>
  /** node label a GPU model needs; default `souk.gpu/<vendor>.<model>=true` */
  gpuNodeLabel?: (vendor: string, model: string) => { key: string, value: string }
  /** owner label value: a runtime only lists, adopts and deletes namespaces carrying its own */
  instance?: string
  capAdd?: string[]
  apiTimeoutMs?: number
  /** how often `events()` polls the namespace's events; default 2000 ms */
  eventPollMs?: number
  onApiCall?: (name: string, ms: number) => void
  /** pods run in their own user namespace (`hostUsers: false`): root in a container is not root on the node; default true */
  userNamespaces?: boolean
  /** refuse to start containers whose image runs as root (`runAsNonRoot`); default false, since many images do */
  runAsNonRoot?: boolean
  /** pull policy for images without credentials; default `Always`, so a node's cached private image is never run for a tenant that did not prove access */
  imagePullPolicy?: 'Always' | 'IfNotPresent'
  /** IPv4 ranges leases may reach although private */
  allowNetworks?: string[]
  /** more IPv4 ranges leases must not reach (the nodes' public addresses, say) */
  blockNetworks?: string[]
  /** HTTP services get Ingress objects with hostnames under this domain (docs/provider-kubernetes.md); unset: none, HTTP stays on the NodePort */
  ingressDomain?: string
  /** `spec.ingressClassName` of those Ingresses; unset: the cluster's default IngressClass */
  ingressClassName?: string
}

export interface KubernetesRuntimeComponents {
  kubeConfig?: k8s.KubeConfig
  onApiCall?: (name: string, ms: number) => void
}

export interface KubernetesRuntime extends ContainerRuntime {
  readonly name: 'kubernetes'
}

type Workload = { kind: 'Deployment', obj: k8s.V1Deployment } | { kind: 'StatefulSet', obj: k8s.V1StatefulSet }

export interface KubernetesObjects {
  namespace: k8s.V1Namespace
  networkPolicy: k8s.V1NetworkPolicy
  workloads: Workload[]
  services: k8s.V1Service[]
  secrets: k8s.V1Secret[]
  notices: RuntimeNotice[]
}

export function namespaceName (leaseId: string): string {
  return `${NAME_PREFIX}${leaseNameKey(leaseId, 'kubernetes')}`
}

/** label values are at most 63 characters; the full ID is in the `souk.lease/id` annotation */
export function leaseLabelValue (leaseId: string): string {
  return leaseId.slice(0, KUBE_LEASE_LABEL_CHARS)
}

function labelSafe (s: string): string {
  const v = s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 63)
  return v.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '')
}

function envVar (kv: string): k8s.V1EnvVar {
  const i = kv.indexOf('=')
  return i < 0 ? { name: kv, value: '' } : { name: kv.slice(0, i), value: kv.slice(i + 1) }
}

function portName (port: number, proto: string): string {
  return `p${port}-${proto}`
}

/**
 * Every object a lease becomes, as data. Exported so the mapping (limits, GPU resources,
 * labels, isolation) can be read and checked without a cluster.
 */
export function kubernetesObjects (lease: LeaseRef, manifest: Manifest, init: KubernetesRuntimeInit = {}): KubernetesObjects {
  const planned = planServices(manifest)
  const ns = namespaceName(lease.leaseId)
  const instance = init.instance ?? DEFAULT_INSTANCE
  const notices = commonNotices(manifest, planned, 'kubernetes')
  const leaseLabels = {
    [LABEL_LEASE]: leaseLabelValue(lease.leaseId),
    [LABEL_TENANT]: labelSafe(lease.tenant),
    [LABEL_PROVIDER]: labelSafe(lease.provider),
    [LABEL_INSTANCE]: labelSafe(instance)
  }
  const annotations = { [ANNOTATION_LEASE_ID]: lease.leaseId, [LABEL_NOTICES]: '' }
  const namespace: k8s.V1Namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns, labels: { ...leaseLabels }, annotations }
  }
  const globalPorts: k8s.V1NetworkPolicyPort[] = []
  for (const { service } of planned) {
    for (const e of service.expose) {
      if (isGlobal(e) && !globalPorts.some((p) => p.port === e.port && p.protocol === e.proto.toUpperCase())) globalPorts.push({ port: e.port, protocol: e.proto.toUpperCase() })
    }
  }
  const allowed = (init.allowNetworks ?? []).map((c) => parseCidr(c)).filter((c) => c.family === 4).map((c) => c.text)
  const blocked = [...new Set([...PRIVATE_IPV4, ...(init.blockNetworks ?? []).map((c) => parseCidr(c)).filter((c) => c.family === 4).map((c) => c.text)])]
    .filter((c) => c !== '0.0.0.0/0')
  const networkPolicy: k8s.V1NetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'souk-isolate', namespace: ns, labels: { ...leaseLabels } },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        // pods of this lease may talk to each other
        { _from: [{ podSelector: {} }] },
        // the world may reach the ports the manifest exposes globally, nothing else
        ...(globalPorts.length > 0 ? [{ ports: globalPorts }] : [])
      ],
      egress: [
        // to each other
        { to: [{ podSelector: {} }] },
        // to the cluster's DNS, and only on its port
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [{ port: 53 as unknown as k8s.IntOrString, protocol: 'UDP' }, { port: 53 as unknown as k8s.IntOrString, protocol: 'TCP' }]
        },
        // to the internet: everything but private, link-local, special and blocked ranges
        { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: blocked } }] },
        // and to the private ranges the provider allows
        ...(allowed.length > 0 ? [{ to: allowed.map((cidr) => ({ ipBlock: { cidr } })) }] : [])
      ]
    }
  }
  const workloads: Workload[] = []
  const services: k8s.V1Service[] = []
  const secrets: k8s.V1Secret[] = []
  for (const p of planned) {
    const built = workloadFor(p, ns, leaseLabels, init, notices)
    workloads.push(built.workload)
    if (built.secret != null) secrets.push(built.secret)
    services.push(...servicesFor(p, ns, leaseLabels, init))
  }
  annotations[LABEL_NOTICES] = JSON.stringify(notices)
  return { namespace, networkPolicy, workloads, services, secrets, notices }
}

function workloadFor (p: PlannedService, ns: string, leaseLabels: Record<string, string>, init: KubernetesRuntimeInit, notices: RuntimeNotice[]): { workload: Workload, secret?: k8s.V1Secret } {
  const s = p.service
  const podLabels = { ...leaseLabels, [LABEL_SERVICE]: s.name }
  const requests: Record<string, string> = { cpu: `${s.resources.cpu}m`, memory: String(s.resources.memory) }
  const volumes: k8s.V1Volume[] = []
  const mounts: k8s.V1VolumeMount[] = []
  const claims: k8s.V1PersistentVolumeClaim[] = []
  for (const st of s.resources.storage) {
    const params = s.storage?.[st.name]
    if (params == null) {
      if (!st.persistent && st.class == null) requests['ephemeral-storage'] = String(st.size)
      continue
    }
    const volName = labelSafe(st.name).toLowerCase().replace(/[_.]/g, '-') || 'data'
    mounts.push({ name: volName, mountPath: params.mount, readOnly: params.readOnly })
    if (st.class === 'ram') {
      volumes.push({ name: volName, emptyDir: { medium: 'Memory', sizeLimit: String(st.size) } })
    } else if (st.persistent) {
      const storageClassName = st.class != null ? (init.storageClasses?.[st.class] ?? st.class) : undefined
      claims.push({
        metadata: { name: volName, labels: { ...podLabels } },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: String(st.size) } }, ...(storageClassName != null ? { storageClassName } : {}) }
      })
    } else {
      volumes.push({ name: volName, emptyDir: { sizeLimit: String(st.size) } })
    }
  }
  // a Memory emptyDir's pages are charged to the container's memory: the limit covers both
  const ramBytes = s.resources.storage.filter((st) => st.class === 'ram' && s.storage?.[st.name] != null).reduce((a, st) => a + st.size, 0)
  const memory = s.resources.memory + ramBytes
  // the last line: no container without a positive memory and CPU limit (pids: the kubelet's podPidsLimit)
  if (!Number.isSafeInteger(memory) || memory < 1) throw new ContainerLimitsError(`${p.path}.resources.memory`, `a container needs a positive memory limit, got ${String(s.resources.memory)}`)
  if (!Number.isSafeInteger(s.resources.cpu) || s.resources.cpu < 1) throw new ContainerLimitsError(`${p.path}.resources.cpu`, `a container needs a positive CPU limit, got ${String(s.resources.cpu)}`)
  requests.memory = String(memory)
  const limits: Record<string, string> = { ...requests }
  let affinity: k8s.V1Affinity | undefined
  if (s.resources.gpu.units > 0) {
    const vendors = new Set(s.resources.gpu.models.map((m) => m.vendor))
    if ([...vendors].some((v) => v !== 'nvidia')) {
      notices.push({ path: `${p.path}.resources.gpu`, code: 'gpu-vendor', message: 'only nvidia GPUs (nvidia.com/gpu) are scheduled by this runtime' })
    }
    limits['nvidia.com/gpu'] = String(s.resources.gpu.units)
    const terms = s.resources.gpu.models.filter((m) => m.model != null).map((m) => {
      const { key, value } = init.gpuNodeLabel?.(m.vendor, m.model!) ?? { key: `souk.gpu/${m.vendor}.${m.model!}`, value: 'true' }
      return { matchExpressions: [{ key, operator: 'In', values: [value] }] }
    })
    // node selector terms are ORed: any acceptable model will do
    if (terms.length > 0) affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } }
  }
  let secret: k8s.V1Secret | undefined
  if (s.credentials != null) {
    const auth = Buffer.from(`${s.credentials.username}:${s.credentials.password}`).toString('base64')
    secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${s.name}-registry`, namespace: ns, labels: { ...podLabels } },
      type: 'kubernetes.io/dockerconfigjson',
      stringData: { '.dockerconfigjson': JSON.stringify({ auths: { [s.credentials.host]: { username: s.credentials.username, password: s.credentials.password, auth, ...(s.credentials.email != null ? { email: s.credentials.email } : {}) } } }) }
    }
  }
  const container: k8s.V1Container = {
    name: s.name,
    image: s.image,
    env: s.env.map(envVar),
    ports: s.expose.map((e) => ({ containerPort: e.port, protocol: e.proto.toUpperCase(), name: portName(e.port, e.proto).slice(0, 15) })),
    resources: { requests, limits },
    // with credentials the kubelet always asks the registry, which checks them
    imagePullPolicy: s.credentials != null ? 'Always' : (init.imagePullPolicy ?? 'Always'),
    securityContext: {
      privileged: false,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: [...(init.capAdd ?? DEFAULT_CAP_ADD)] },
      seccompProfile: { type: 'RuntimeDefault' },
      ...(init.runAsNonRoot === true ? { runAsNonRoot: true } : {})
    },
    volumeMounts: mounts
  }
  if (s.command != null && s.command.length > 0) container.command = [...s.command]
  if (s.args != null && s.args.length > 0) container.args = [...s.args]
  const template: k8s.V1PodTemplateSpec = {
    metadata: { labels: podLabels },
    spec: {
      containers: [container],
      volumes,
      // tenant code gets no cluster credentials and no environment listing of other services
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // root in the container is an unprivileged user on the node
      ...(init.userNamespaces !== false ? { hostUsers: false } : {}),
      ...(affinity != null ? { affinity } : {}),
      ...(secret != null ? { imagePullSecrets: [{ name: secret.metadata!.name! }] } : {})
    }
  }
  const metadata: k8s.V1ObjectMeta = { name: s.name, namespace: ns, labels: { ...podLabels, [LABEL_GROUP]: labelSafe(p.group) } }
  if (claims.length > 0) {
    return {
      secret,
      workload: {
        kind: 'StatefulSet',
        obj: {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata,
          spec: { replicas: s.count, serviceName: s.name, selector: { matchLabels: { [LABEL_SERVICE]: s.name } }, template, volumeClaimTemplates: claims }
        }
      }
    }
  }
  return {
    secret,
    workload: {
      kind: 'Deployment',
      obj: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata,
        spec: {
          replicas: s.count,
          selector: { matchLabels: { [LABEL_SERVICE]: s.name } },
          template,
          // GPUs are reserved exactly: a surge pod would wait for a GPU that is not there
          strategy: s.resources.gpu.units > 0 ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } }
        }
      }
    }
  }
}

function servicesFor (p: PlannedService, ns: string, leaseLabels: Record<string, string>, init: KubernetesRuntimeInit): k8s.V1Service[] {
  const s = p.service
  if (s.expose.length === 0) return []
  const labels = { ...leaseLabels, [LABEL_SERVICE]: s.name }
  const selector = { [LABEL_SERVICE]: s.name }
  const seen = new Set<string>()
  const internal: k8s.V1ServicePort[] = []
  for (const e of s.expose) {
    const k = `${e.port}/${e.proto}`
    if (seen.has(k)) continue
    seen.add(k)
    internal.push({ name: portName(e.port, e.proto), port: e.port, targetPort: e.port as unknown as k8s.IntOrString, protocol: e.proto.toUpperCase() })
  }
  const out: k8s.V1Service[] = [{
    apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: ns, labels }, spec: { type: 'ClusterIP', selector, ports: internal }
  }]
  const globals = s.expose.filter(isGlobal)
  if (globals.length > 0) {
    const gseen = new Set<string>()
    const ports: k8s.V1ServicePort[] = []
    for (const e of globals) {
      const k = `${e.as}/${e.proto}`
      if (gseen.has(k)) continue
      gseen.add(k)
      ports.push({ name: portName(e.as, e.proto), port: e.as, targetPort: e.port as unknown as k8s.IntOrString, protocol: e.proto.toUpperCase() })
    }
    out.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: `${s.name}-global`,
        namespace: ns,
        labels: { ...labels, 'souk.global': 'true' },
        // how each port's URL is written, kept for status after a restart
        annotations: { [LABEL_EXPOSE]: JSON.stringify(globals.map((e) => ({ port: e.port, as: e.as, proto: e.proto, s: urlScheme(e) }))) }
      },
      spec: { type: init.globalServiceType ?? 'NodePort', selector, ports }
    })
  }
  return out
}

const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504])
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT'])

function mapKubeError (err: unknown, call: string): RuntimeError {
  if (err instanceof RuntimeError) return err
  const e = err as { code?: unknown, body?: unknown, message?: string, name?: string, cause?: { code?: string } }
  if (e?.name === 'AbortError') return new AbortedError(`${call} was aborted`)
  if (typeof e?.code === 'number') {
    let message = e.message ?? ''
    try {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body
      if (body?.message != null) message = body.message
    } catch {}
    if (TRANSIENT_STATUS.has(e.code)) return new RuntimeUnavailableError(`Kubernetes API ${call}: ${e.code} ${message}`, err)
    return new RuntimeRequestError(`Kubernetes API ${call}: ${message}`, e.code, err)
  }
  // undici: `TypeError: fetch failed` with the socket error as cause
  if (e?.message === 'fetch failed' || (e?.cause?.code != null && TRANSIENT_CODES.has(e.cause.code)) || e?.name === 'TimeoutError') {
    return new RuntimeUnavailableError(`Kubernetes API unreachable during ${call}: ${e?.cause?.code ?? e?.message ?? String(err)}`, err)
  }
  return new RuntimeRequestError(`Kubernetes API ${call}: ${e?.message ?? String(err)}`, undefined, err)
}

function isStatus (err: unknown, status: number): boolean {
  return err instanceof RuntimeRequestError && err.status === status
}

function podState (pod: k8s.V1Pod): { state: ReplicaState, message?: string, restarts: number, exitCode?: number, startedAt?: string } {
  const cs = pod.status?.containerStatuses?.[0]
  const restarts = cs?.restartCount ?? 0
  if (pod.metadata?.deletionTimestamp != null) return { state: 'exited', message: 'Terminating', restarts }
  if (cs?.state?.running != null) {
    return { state: cs.ready === false ? 'pending' : 'running', restarts, ...(cs.state.running.startedAt != null ? { startedAt: new Date(cs.state.running.startedAt).toISOString() } : {}) }
  }
  if (cs?.state?.waiting != null) {
    const reason = cs.state.waiting.reason
    return { state: reason === 'CrashLoopBackOff' ? 'restarting' : 'pending', restarts, ...(reason != null ? { message: reason } : {}) }
  }
  if (cs?.state?.terminated != null) {
    const t = cs.state.terminated
    return { state: t.exitCode === 0 ? 'exited' : 'failed', restarts, exitCode: t.exitCode, ...(t.reason != null ? { message: t.reason } : {}) }
  }
  switch (pod.status?.phase) {
    case 'Running': return { state: 'running', restarts }
    case 'Succeeded': return { state: 'exited', restarts }
    case 'Failed': return { state: 'failed', restarts, ...(pod.status?.reason != null ? { message: pod.status.reason } : {}) }
    case 'Pending': return { state: 'pending', restarts }
    default: return { state: 'unknown', restarts }
  }
}

export function kubernetesRuntime (init: KubernetesRuntimeInit = {}): (components?: KubernetesRuntimeComponents) => KubernetesRuntime {
  return (components = {}) => createKubernetesRuntime(init, components)
}

function createKubernetesRuntime (init: KubernetesRuntimeInit, components: KubernetesRuntimeComponents): KubernetesRuntime {
  let kc = components.kubeConfig
  if (kc == null) {
    kc = new k8s.KubeConfig()
    if (init.kubeconfig != null) kc.loadFromFile(init.kubeconfig)
    else kc.loadFromDefault()
  }
  if (init.context != null) kc.setCurrentContext(init.context)
  const core = kc.makeApiClient(k8s.CoreV1Api)
  const apps = kc.makeApiClient(k8s.AppsV1Api)
  const net = kc.makeApiClient(k8s.NetworkingV1Api)
  const instance = init.instance ?? DEFAULT_INSTANCE
  const timeoutMs = init.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS
  const onApiCall = components.onApiCall ?? init.onApiCall
  const nodeHost = init.nodeHost ?? '127.0.0.1'

  async function call<T> (name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now()
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([fn(), new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new RuntimeUnavailableError(`Kubernetes API call ${name} timed out after ${timeoutMs} ms`)) }, timeoutMs)
      })])
    } catch (err) {
      throw mapKubeError(err, name)
    } finally {
      clearTimeout(timer)
      onApiCall?.(name, performance.now() - t0)
    }
  }

  async function readNamespace (leaseId: string): Promise<k8s.V1Namespace | undefined> {
    try {
      const ns = await call('namespace.read', async () => await core.readNamespace({ name: namespaceName(leaseId) }))
      // a namespace with our name but another owner or lease is not ours to touch
      if (ns.metadata?.labels?.[LABEL_INSTANCE] !== labelSafe(instance) || ns.metadata?.annotations?.[ANNOTATION_LEASE_ID] !== leaseId) return undefined
      return ns
    } catch (err) {
      if (isStatus(err, 404)) return undefined
      throw err
    }
  }

  const ingressInit = init.ingressDomain != null && init.ingressDomain !== '' ? { domain: init.ingressDomain.toLowerCase(), className: init.ingressClassName } : undefined
  const ingressClient: IngressClient = { net, call, isNotFound: (err) => isStatus(err, 404) }
  const ingressSelector = (leaseId: string): string => `${LABEL_LEASE}=${leaseLabelValue(leaseId)},${LABEL_INSTANCE}=${labelSafe(instance)}`

  /** the lease's Ingresses (hosts other Ingresses of the cluster hold refused); their record and notices go on `objs.namespace`, routed ports leave the NodePort */
  async function planIngresses (leaseId: string, manifest: Manifest, objs: KubernetesObjects): Promise<k8s.V1Ingress[]> {
    if (ingressInit == null) return []
    const meta = objs.namespace.metadata!
    const plan = leaseIngresses(leaseId, manifest, meta.name!, { ...meta.labels }, ingressInit, await claimedHosts(ingressClient, meta.name!))
    objs.notices.push(...plan.notices)
    meta.annotations = { ...meta.annotations, [LABEL_NOTICES]: JSON.stringify(objs.notices), [ANNOTATION_INGRESS]: JSON.stringify(plan.records) }
    objs.services = withoutRoutedPorts(objs.services, plan.records)
    return plan.ingresses
  }

  /** makes the lease's Ingresses these; returns how to undo it */
  async function syncIngresses (leaseId: string, ingresses: k8s.V1Ingress[]): Promise<() => Promise<void>> {
    if (ingressInit == null) return async () => {}
    return await applyIngresses(ingressClient, namespaceName(leaseId), ingresses, ingressSelector(leaseId))
  }

  /** puts back Ingresses deleted or edited by hand, from the record on the namespace */
  async function restoreIngresses (leaseId: string): Promise<void> {
    if (ingressInit == null) return
    const nsObj = await readNamespace(leaseId)
    const records = readIngressRecords(nsObj?.metadata?.annotations)
    if (nsObj == null || records == null) return
    const l = nsObj.metadata?.labels ?? {}
    const labels = { [LABEL_LEASE]: l[LABEL_LEASE] ?? '', [LABEL_TENANT]: l[LABEL_TENANT] ?? '', [LABEL_PROVIDER]: l[LABEL_PROVIDER] ?? '', [LABEL_INSTANCE]: l[LABEL_INSTANCE] ?? '' }
    await syncIngresses(leaseId, ingressesOf(leaseId, records, namespaceName(leaseId), labels, ingressInit))
  }

  async function createWorkload (w: Workload, ns: string): Promise<void> {
    if (w.kind === 'Deployment') await call('deployment.create', async () => await apps.createNamespacedDeployment({ namespace: ns, body: w.obj }))
    else await call('statefulset.create', async () => await apps.createNamespacedStatefulSet({ namespace: ns, body: w.obj }))
  }

  async function deploy (lease: LeaseRef, manifest: Manifest, opts: DeployOptions = {}): Promise<DeployedLease> {
    checkLeaseId(lease.leaseId)
    const objs = kubernetesObjects(lease, manifest, init)
    const ingresses = await planIngresses(lease.leaseId, manifest, objs)
    const ns = objs.namespace.metadata!.name!
    opts.onProgress?.({ type: 'runtime:namespace:create', detail: { name: ns } })
    try {
      await call('namespace.create', async () => await core.createNamespace({ body: objs.namespace }))
    } catch (err) {
      if (isStatus(err, 409)) throw new LeaseExistsError(lease.leaseId)
      throw err
    }
    try {
      opts.signal?.throwIfAborted()
      await call('networkpolicy.create', async () => await net.createNamespacedNetworkPolicy({ namespace: ns, body: objs.networkPolicy }))
      for (const s of objs.secrets) await call('secret.create', async () => await core.createNamespacedSecret({ namespace: ns, body: s }))
      for (const s of objs.services) {
        opts.signal?.throwIfAborted()
        await call('service.create', async () => await core.createNamespacedService({ namespace: ns, body: s }))
      }
      for (const w of objs.workloads) {
        opts.signal?.throwIfAborted()
        opts.onProgress?.({ type: 'runtime:workload:create', detail: { kind: w.kind, name: w.obj.metadata!.name } })
        await createWorkload(w, ns)
      }
      await syncIngresses(lease.leaseId, ingresses)
    } catch (err) {
      await call('namespace.delete', async () => await core.deleteNamespace({ name: ns })).catch(() => {})
      if (opts.signal?.aborted === true) throw new AbortedError('deploy was aborted; its namespace was deleted')
      const e = mapKubeError(err, 'deploy')
      if (e.transient) throw e
      throw new DeployFailedError(`lease ${lease.leaseId} could not be deployed: ${e.message}`, e)
    }
    return await status(lease.leaseId)
  }

  async function currentWorkloads (ns: string): Promise<Workload[]> {
    const deps = await call('deployment.list', async () => await apps.listNamespacedDeployment({ namespace: ns }))
    const sets = await call('statefulset.list', async () => await apps.listNamespacedStatefulSet({ namespace: ns }))
    return [
      ...deps.items.map((obj): Workload => ({ kind: 'Deployment', obj })),
      ...sets.items.map((obj): Workload => ({ kind: 'StatefulSet', obj }))
    ]
  }

  async function update (leaseId: string, manifest: Manifest, opts: DeployOptions = {}): Promise<DeployedLease> {
    checkLeaseId(leaseId)
    const nsObj = await readNamespace(leaseId)
    if (nsObj == null) throw new LeaseNotFoundError(leaseId)
    const labels = nsObj.metadata?.labels ?? {}
    const lease: LeaseRef = { leaseId, tenant: labels[LABEL_TENANT] ?? '', provider: labels[LABEL_PROVIDER] ?? '' }
    const want = kubernetesObjects(lease, manifest, init)
    const ingresses = await planIngresses(leaseId, manifest, want)
    const ns = namespaceName(leaseId)
    const before = await currentWorkloads(ns)
    const beforeServices = (await call('service.list', async () => await core.listNamespacedService({ namespace: ns }))).items
    // applied steps, undone in reverse order if a later one fails
    const undo: Array<() => Promise<unknown>> = []
    try {
      for (const s of want.secrets) {
        await call('secret.delete', async () => await core.deleteNamespacedSecret({ name: s.metadata!.name!, namespace: ns })).catch((err) => { if (!isStatus(err, 404)) throw err })
        await call('secret.create', async () => await core.createNamespacedSecret({ namespace: ns, body: s }))
      }
      for (const s of want.services) {
        const old = beforeServices.find((x) => x.metadata?.name === s.metadata?.name)
        if (old == null) {
          await call('service.create', async () => await core.createNamespacedService({ namespace: ns, body: s }))
          undo.push(async () => await core.deleteNamespacedService({ name: s.metadata!.name!, namespace: ns }))
        } else {
          // keep the cluster IP and the node ports already handed out
          const body: k8s.V1Service = { ...s, metadata: { ...s.metadata, resourceVersion: old.metadata?.resourceVersion } }
          body.spec = { ...s.spec, clusterIP: old.spec?.clusterIP, ports: s.spec?.ports?.map((p) => ({ ...p, ...(old.spec?.ports?.find((o) => o.port === p.port && o.protocol === p.protocol)?.nodePort != null ? { nodePort: old.spec!.ports!.find((o) => o.port === p.port && o.protocol === p.protocol)!.nodePort } : {}) })) }
          await call('service.replace', async () => await core.replaceNamespacedService({ name: s.metadata!.name!, namespace: ns, body }))
          undo.push(async () => await core.replaceNamespacedService({ name: s.metadata!.name!, namespace: ns, body: { ...old, metadata: { ...old.metadata, resourceVersion: undefined } } }))
        }
      }
      undo.push(await syncIngresses(leaseId, ingresses))
      for (const w of want.workloads) {
        opts.signal?.throwIfAborted()
        const name = w.obj.metadata!.name!
        // matched by name and kind: an update cut short (the provider killed between creating a
        // service's new StatefulSet and deleting its Deployment) leaves both, and running the
        // update again must end with one
        const old = before.find((x) => x.obj.metadata?.name === name && x.kind === w.kind)
        if (old == null) {
          await createWorkload(w, ns)
          undo.push(async () => await deleteWorkload(w.kind, name, ns))
        } else {
          await replaceWorkload(w, ns)
          undo.push(async () => { await replaceWorkload(stripped(old), ns) })
        }
        for (const other of before.filter((x) => x.obj.metadata?.name === name && x.kind !== w.kind)) {
          await deleteWorkload(other.kind, name, ns)
          undo.push(async () => { await createWorkload(stripped(other), ns) })
        }
      }
    } catch (err) {
      for (const step of undo.reverse()) await step().catch(() => {})
      throw new UpdateFailedError(`lease ${leaseId} keeps its previous manifest: ${mapKubeError(err, 'update').message}`, mapKubeError(err, 'update'))
    }
    // only now remove what the new manifest no longer has
    for (const old of before) {
      if (!want.workloads.some((w) => w.obj.metadata?.name === old.obj.metadata?.name)) await deleteWorkload(old.kind, old.obj.metadata!.name!, ns).catch(() => {})
    }
    for (const old of beforeServices) {
      if (!want.services.some((s) => s.metadata?.name === old.metadata?.name)) {
        await call('service.delete', async () => await core.deleteNamespacedService({ name: old.metadata!.name!, namespace: ns })).catch(() => {})
      }
    }
    await call('networkpolicy.replace', async () => await net.replaceNamespacedNetworkPolicy({ name: 'souk-isolate', namespace: ns, body: want.networkPolicy })).catch(() => {})
    await call('namespace.patch', async () => await core.patchNamespace({ name: ns, body: { metadata: { annotations: { [LABEL_NOTICES]: JSON.stringify(want.notices), ...(ingressInit != null ? { [ANNOTATION_INGRESS]: want.namespace.metadata!.annotations![ANNOTATION_INGRESS] } : {}) } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))).catch(() => {})
    return await status(leaseId)
  }

  function stripped (w: Workload): Workload {
    const meta = { ...w.obj.metadata, resourceVersion: undefined, uid: undefined, creationTimestamp: undefined, generation: undefined, managedFields: undefined }
    return w.kind === 'Deployment'
      ? { kind: 'Deployment', obj: { ...w.obj, metadata: meta, status: undefined } }
      : { kind: 'StatefulSet', obj: { ...w.obj, metadata: meta, status: undefined } }
  }

  async function replaceWorkload (w: Workload, ns: string): Promise<void> {
    const name = w.obj.metadata!.name!
    if (w.kind === 'Deployment') await call('deployment.replace', async () => await apps.replaceNamespacedDeployment({ name, namespace: ns, body: w.obj }))
    else await call('statefulset.replace', async () => await apps.replaceNamespacedStatefulSet({ name, namespace: ns, body: w.obj }))
  }

  async function deleteWorkload (kind: Workload['kind'], name: string, ns: string): Promise<void> {
    if (kind === 'Deployment') await call('deployment.delete', async () => await apps.deleteNamespacedDeployment({ name, namespace: ns }))
    else await call('statefulset.delete', async () => await apps.deleteNamespacedStatefulSet({ name, namespace: ns }))
  }

  function serviceUrls (svc: k8s.V1Service): ServiceUrl[] {
    let stored: Array<{ port: number, as: number, proto: 'tcp' | 'udp', s: 'http' | 'tcp' | 'udp' }> = []
    try { stored = JSON.parse(svc.metadata?.annotations?.[LABEL_EXPOSE] ?? '[]') } catch {}
    const urls: ServiceUrl[] = []
    for (const p of svc.spec?.ports ?? []) {
      const proto = (p.protocol ?? 'TCP').toLowerCase() as 'tcp' | 'udp'
      const e = stored.find((x) => x.as === p.port && x.proto === proto)
      const expose = { port: e?.port ?? Number(p.targetPort ?? p.port), as: p.port, proto }
      const scheme = e?.s ?? (proto === 'udp' ? 'udp' : 'tcp')
      if (svc.spec?.type === 'LoadBalancer') {
        const ing = svc.status?.loadBalancer?.ingress?.[0]
        const host = ing?.ip ?? ing?.hostname
        if (host != null) urls.push(formatUrl(scheme, expose, host, p.port))
      } else if (p.nodePort != null) {
        urls.push(formatUrl(scheme, expose, nodeHost, p.nodePort))
      }
    }
    return urls
  }

  async function status (leaseId: string): Promise<DeployedLease> {
    checkLeaseId(leaseId)
    const nsObj = await readNamespace(leaseId)
    if (nsObj == null) throw new LeaseNotFoundError(leaseId)
    const ns = namespaceName(leaseId)
    const workloads = await currentWorkloads(ns)
    const pods = (await call('pod.list', async () => await core.listNamespacedPod({ namespace: ns }))).items
    const svcs = (await call('service.list', async () => await core.listNamespacedService({ namespace: ns }))).items
    const ings = ingressInit != null ? (await call('ingress.list', async () => await net.listNamespacedIngress({ namespace: ns, labelSelector: ingressSelector(leaseId) }))).items : []
    const services: ServiceStatus[] = []
    for (const w of workloads.sort((a, b) => (a.obj.metadata?.name ?? '').localeCompare(b.obj.metadata?.name ?? ''))) {
      const name = w.obj.metadata?.name ?? ''
      const container = w.obj.spec?.template.spec?.containers[0]
      const globalSvc = svcs.find((s) => s.metadata?.name === `${name}-global`)
      // the Ingress hostnames first: they stay the same for the life of the lease
      const urls = [...ingressUrls(ings, name), ...(globalSvc != null ? serviceUrls(globalSvc) : [])]
      const replicas: ReplicaStatus[] = pods
        .filter((p) => p.metadata?.labels?.[LABEL_SERVICE] === name)
        .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
        .map((p) => {
          const st = podState(p)
          const podName = p.metadata?.name ?? ''
          const m = w.kind === 'StatefulSet' ? /-(\d+)$/.exec(podName) : null
          const r: ReplicaStatus = { name: podName, index: m != null ? Number(m[1]) : -1, state: st.state, restarts: st.restarts, urls: [] }
          if (st.exitCode != null) r.exitCode = st.exitCode
          if (st.message != null) r.message = st.message
          if (st.startedAt != null) r.startedAt = st.startedAt
          return r
        })
      services.push({
        name,
        group: w.obj.metadata?.labels?.[LABEL_GROUP] ?? '',
        image: container?.image ?? '',
        count: w.obj.spec?.replicas ?? 0,
        ready: replicas.filter((r) => r.state === 'running').length,
        replicas,
        urls
      })
    }
    let notices: RuntimeNotice[] = []
    try { notices = JSON.parse(nsObj.metadata?.annotations?.[LABEL_NOTICES] ?? '[]') } catch {}
    return {
      leaseId,
      tenant: nsObj.metadata?.labels?.[LABEL_TENANT] ?? '',
      provider: nsObj.metadata?.labels?.[LABEL_PROVIDER] ?? '',
      runtime: 'kubernetes',
      services,
      notices
    }
  }

  async function servicePods (leaseId: string, service?: string): Promise<k8s.V1Pod[]> {
    if (await readNamespace(leaseId) == null) throw new LeaseNotFoundError(leaseId)
    const pods = (await call('pod.list', async () => await core.listNamespacedPod({
      namespace: namespaceName(leaseId),
      ...(service != null ? { labelSelector: `${LABEL_SERVICE}=${service}` } : {})
    }))).items
    if (service != null && pods.length === 0) throw new ServiceNotFoundError(leaseId, service)
    return pods.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
  }

  async function * logs (leaseId: string, opts: LogOptions = {}): AsyncGenerator<LogLine> {
    checkLeaseId(leaseId)
    const pods = await servicePods(leaseId, opts.service)
    const ns = namespaceName(leaseId)
    if (opts.follow !== true) {
      for (const pod of pods) {
        opts.signal?.throwIfAborted()
        const service = pod.metadata?.labels?.[LABEL_SERVICE] ?? ''
        const text = await call('pod.log', async () => await core.readNamespacedPodLog({
          name: pod.metadata!.name!, namespace: ns, container: service, ...(opts.tail != null ? { tailLines: opts.tail } : {})
        }))
        const splitter = new LineSplitter()
        // Kubernetes merges stdout and stderr into one log
        for (const line of [...splitter.push(Buffer.from(String(text))), ...splitter.flush()]) yield { service, replica: pod.metadata!.name!, stream: 'stdout', line }
      }
      return
    }
    const sinks = new Set<PassThrough>()
    // bounded in bytes: a reader that falls behind pauses the pods' log streams
    const queue = new ByteQueue<LogLine>({
      size: (l) => l.line.length + l.replica.length,
      pause: () => { for (const x of sinks) x.pause() },
      resume: () => { for (const x of sinks) x.resume() }
    })
    const logApi = new k8s.Log(kc!)
    const controllers = new Set<AbortController>()
    let stopped = false
    const stop = (): void => {
      stopped = true
      for (const c of controllers) c.abort()
      queue.end()
    }
    opts.signal?.addEventListener('abort', stop, { once: true })
    if (opts.signal?.aborted === true) stop()
    // one follow request per pod; an idle stream that the HTTP client times out is reopened
    // from that moment on, so a quiet service does not end the log
    const followPod = async (pod: k8s.V1Pod): Promise<void> => {
      const service = pod.metadata?.labels?.[LABEL_SERVICE] ?? ''
      const replica = pod.metadata!.name!
      // the client drops `tailLines: 0`; "from now" says the same
      let from: k8s.LogOptions = opts.tail === 0 ? { sinceTime: new Date().toISOString() } : opts.tail != null ? { tailLines: opts.tail } : {}
      while (!stopped) {
        const splitter = new LineSplitter()
        const outcome = await new Promise<'end' | 'idle'>((resolve, reject) => {
          const sink = new PassThrough()
          sinks.add(sink)
          sink.on('close', () => { sinks.delete(sink) })
          sink.on('pipe', (src: NodeJS.ReadableStream) => {
            src.on('error', (err: { cause?: { code?: string }, code?: string }) => {
              if (stopped) resolve('end')
              else if (err?.cause?.code === 'UND_ERR_BODY_TIMEOUT' || err?.code === 'UND_ERR_BODY_TIMEOUT') resolve('idle')
              else reject(err)
            })
          })
          sink.on('data', (chunk: Buffer) => { for (const line of splitter.push(chunk)) queue.push({ service, replica, stream: 'stdout', line }) })
          sink.on('end', () => { resolve('end') })
          logApi.log(namespaceName(leaseId), replica, service, sink, { follow: true, ...from })
            .then((c) => { controllers.add(c); if (stopped) c.abort() }, reject)
        })
        for (const line of splitter.flush()) queue.push({ service, replica, stream: 'stdout', line })
        if (outcome === 'end') return
        from = { sinceTime: new Date().toISOString() }
      }
    }
    Promise.all(pods.map(followPod)).then(() => { queue.end() }, (err) => { queue.end(stopped ? undefined : mapKubeError(err, 'pod.log')) })
    try {
      yield * queue
    } finally {
      opts.signal?.removeEventListener('abort', stop)
      stop()
    }
  }

  async function * events (leaseId: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<RuntimeEvent> {
    checkLeaseId(leaseId)
    const ns = namespaceName(leaseId)
    const seen = new Set<string>()
    const pollMs = init.eventPollMs ?? 2000
    while (opts.signal?.aborted !== true) {
      const list = await call('event.list', async () => await core.listNamespacedEvent({ namespace: ns }))
      const services = (await currentWorkloads(ns)).map((w) => w.obj.metadata?.name ?? '')
      for (const e of list.items) {
        const id = e.metadata?.uid ?? `${e.metadata?.name}/${e.count ?? 1}`
        if (seen.has(id)) continue
        seen.add(id)
        if (seen.size > 10_000) seen.delete(seen.values().next().value as string)
        const obj = e.involvedObject?.name ?? ''
        const svc = services.find((s) => obj === s || obj.startsWith(`${s}-`))
        const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp
        const evt: RuntimeEvent = { type: e.reason ?? 'Unknown', leaseId, time: t != null ? new Date(t as unknown as string).getTime() : Date.now() }
        if (svc != null) evt.service = svc
        if (obj !== '') evt.replica = obj
        if (e.message != null) evt.message = e.message
        yield evt
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs)
        opts.signal?.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
      })
    }
  }

  async function exec (leaseId: string, opts: ExecOptions): Promise<ExecHandle> {
    checkLeaseId(leaseId)
    if (!Array.isArray(opts.command) || opts.command.length === 0 || opts.command.some((c) => typeof c !== 'string')) {
      throw new RuntimeRequestError('exec: command must be a non-empty list of strings')
    }
    const pods = (await servicePods(leaseId, opts.service)).filter((p) => podState(p).state === 'running')
    const pod = opts.replica != null ? pods.find((p) => p.metadata?.name?.endsWith(`-${opts.replica}`)) : pods[0]
    if (pod == null) throw new ServiceNotFoundError(leaseId, opts.service)
    let socket: { pause?: () => void, resume?: () => void } | undefined
    // bounded in bytes: output the reader has not taken yet pauses the exec's web socket
    const queue = new ByteQueue<ExecOutput>({ size: (o) => o.data.length, pause: () => { socket?.pause?.() }, resume: () => { socket?.resume?.() } })
    const stdout = new PassThrough()
    const stderr = new PassThrough()
    const stdin = new PassThrough()
    stdout.on('data', (d: Buffer) => { queue.push({ stream: 'stdout', data: new Uint8Array(d) }) })
    stderr.on('data', (d: Buffer) => { queue.push({ stream: 'stderr', data: new Uint8Array(d) }) })
    let resolveCode!: (code: number) => void
    let rejectCode!: (err: unknown) => void
    const exitCode = new Promise<number>((resolve, reject) => { resolveCode = resolve; rejectCode = reject })
    exitCode.catch(() => {})
    const ws = await call('pod.exec', async () => await new k8s.Exec(kc!).exec(namespaceName(leaseId), pod.metadata!.name!, opts.service, opts.command, stdout, stderr, stdin, opts.tty === true, (st) => {
      if (st.status === 'Success') resolveCode(0)
      else {
        const cause = st.details?.causes?.find((c) => c.reason === 'ExitCode')
        if (cause?.message != null) resolveCode(Number(cause.message))
        else rejectCode(new RuntimeRequestError(`exec failed: ${st.message ?? 'unknown error'}`))
      }
    }))
    socket = ws as unknown as { pause?: () => void, resume?: () => void }
    ws.on('close', () => {
      queue.end()
      // no status frame before close means the connection broke
      setTimeout(() => { rejectCode(new RuntimeUnavailableError('exec connection closed without an exit status')) }, 50)
    })
    opts.signal?.addEventListener('abort', () => { ws.close() }, { once: true })
    return {
      stdin: { write: (data) => { stdin.write(typeof data === 'string' ? data : Buffer.from(data)) }, end: () => { stdin.end() } },
      output: queue,
      exitCode
    }
  }

  async function close (leaseId: string): Promise<void> {
    checkLeaseId(leaseId)
    if (await readNamespace(leaseId) == null) return
    // the controller stops routing now, not when the namespace is finally gone
    await syncIngresses(leaseId, []).catch(() => {})
    try {
      await call('namespace.delete', async () => await core.deleteNamespace({ name: namespaceName(leaseId) }))
    } catch (err) {
      if (!isStatus(err, 404)) throw err
    }
  }

  async function list (): Promise<LeaseSummary[]> {
    const nss = (await call('namespace.list', async () => await core.listNamespace({ labelSelector: `${LABEL_INSTANCE}=${labelSafe(instance)},${LABEL_LEASE}` }))).items
    const out: LeaseSummary[] = []
    for (const n of nss) {
      const leaseId = n.metadata?.annotations?.[ANNOTATION_LEASE_ID]
      if (leaseId == null || n.metadata?.deletionTimestamp != null) continue
      const workloads = await currentWorkloads(n.metadata!.name!)
      out.push({
        leaseId,
        tenant: n.metadata?.labels?.[LABEL_TENANT] ?? '',
        provider: n.metadata?.labels?.[LABEL_PROVIDER] ?? '',
        services: workloads.map((w) => ({ name: w.obj.metadata?.name ?? '', replicas: w.obj.spec?.replicas ?? 0, running: w.obj.status?.readyReplicas ?? 0 }))
      })
    }
    return out
  }

  async function reconcile (activeLeaseIds: Set<string>): Promise<ReconcileResult> {
    const leases = await list()
    const adopted: string[] = []
    const removed: string[] = []
    for (const l of leases) {
      if (activeLeaseIds.has(l.leaseId)) {
        adopted.push(l.leaseId)
        // a refused Ingress (an admission webhook, say) does not keep other leases from being reconciled
        await restoreIngresses(l.leaseId).catch((err) => { if (mapKubeError(err, 'ingress.restore').transient) throw err })
      } else {
        await close(l.leaseId)
        removed.push(l.leaseId)
      }
    }
    return { adopted, removed }
  }

  async function sandbox (): Promise<SandboxReport> {
    const probe = kubernetesObjects({ leaseId: '0'.repeat(64), tenant: '', provider: '' }, { version: '2.0', groups: [], endpoints: {} }, init)
    const egress = probe.networkPolicy.spec?.egress ?? []
    return {
      runtime: 'kubernetes',
      ociRuntime: 'cluster',
      userNamespaces: init.userNamespaces !== false,
      network: {
        isolation: 'networkpolicy',
        allowed: egress.slice(3).flatMap((r) => (r.to ?? []).map((t) => t.ipBlock?.cidr ?? '')),
        blocked: egress[2]?.to?.[0]?.ipBlock?.except ?? []
      },
      storage: { ephemeral: 'eviction', persistent: 'quota', ram: 'tmpfs' },
      notes: [
        'NetworkPolicy is enforced only by a CNI that implements it, egress included (Calico, Cilium); with flannel alone leases are not isolated',
        'the nodes\' own addresses are reachable unless they are in a private range or in provider.sandbox.blockNetworks',
        'the pids limit is the kubelet\'s podPidsLimit: set it on every node',
        'ephemeral storage is held by kubelet eviction after the fact; persistent volumes by the storage class\'s provisioner',
        ...(init.userNamespaces !== false ? ['hostUsers: false needs Kubernetes 1.30 or later with user namespace support in the node\'s runtime'] : [])
      ]
    }
  }

  return { name: 'kubernetes', deploy, update, status, logs, events, exec, close, list, reconcile, sandbox }
}
