// Every Kubernetes object a lease becomes, as data: its Namespace, the NetworkPolicy that
// isolates it, a Deployment (StatefulSet with volume claims when it keeps data) and Services per
// service, pull Secrets; and the status read back from the cluster's answers. Nothing here calls
// the API, and the Kubernetes client is imported for its types only, so loading this file does
// not load the client.
import type * as k8s from '@kubernetes/client-node'
import {
  ANNOTATION_LEASE_ID, DEFAULT_CAP_ADD, DEFAULT_INSTANCE, KUBE_LEASE_LABEL_CHARS, LABEL_EXPOSE, LABEL_GROUP, LABEL_INSTANCE, LABEL_LEASE, LABEL_NOTICES,
  LABEL_PROVIDER, LABEL_SERVICE, LABEL_TENANT, NAME_PREFIX
} from './constants.ts'
import { PRIVATE_IPV4, parseCidr } from './address-ranges.ts'
import { ContainerLimitsError } from './errors.ts'
import { commonNotices, formatUrl, isGlobal, leaseNameKey, planServices, urlScheme } from './manifest-plan.ts'
import type { PlannedService } from './manifest-plan.ts'
import { ingressUrls } from './kubernetes-ingress.ts'
import type { DeployedLease, LeaseRef, ReplicaState, ReplicaStatus, RuntimeNotice, SandboxReport, ServiceStatus, ServiceUrl } from './interface.ts'
import type { Manifest } from '../sdl/types.ts'

/** what shapes a lease's objects (the runtime's init carries these and more) */
export interface KubernetesObjectsInit {
  /** how globally exposed ports leave the cluster; default NodePort */
  globalServiceType?: 'NodePort' | 'LoadBalancer'
  /** SDL storage class → StorageClass name; unmapped classes are used as written */
  storageClasses?: Record<string, string>
  /** node label a GPU model needs; default `souk.gpu/<vendor>.<model>=true` */
  gpuNodeLabel?: (vendor: string, model: string) => { key: string, value: string }
  /** owner label value: a runtime only lists, adopts and deletes namespaces carrying its own */
  instance?: string
  capAdd?: string[]
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
}

export type Workload = { kind: 'Deployment', obj: k8s.V1Deployment } | { kind: 'StatefulSet', obj: k8s.V1StatefulSet }

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

/** a label value from any string: at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric */
export function labelSafe (s: string): string {
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
export function kubernetesObjects (lease: LeaseRef, manifest: Manifest, init: KubernetesObjectsInit = {}): KubernetesObjects {
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

function workloadFor (p: PlannedService, ns: string, leaseLabels: Record<string, string>, init: KubernetesObjectsInit, notices: RuntimeNotice[]): { workload: Workload, secret?: k8s.V1Secret } {
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

function servicesFor (p: PlannedService, ns: string, leaseLabels: Record<string, string>, init: KubernetesObjectsInit): k8s.V1Service[] {
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

/** a pod's state as souk reports a replica's, from its first container's status, else its phase */
export function podState (pod: k8s.V1Pod): { state: ReplicaState, message?: string, restarts: number, exitCode?: number, startedAt?: string } {
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

/** the URLs of a service's global ports: the load balancer's address, else a node's address and the node port */
export function serviceUrls (svc: k8s.V1Service, nodeHost: string): ServiceUrl[] {
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

/** what the cluster holds of one lease, as listed */
export interface LeaseObjectsSeen {
  namespace: k8s.V1Namespace
  workloads: Workload[]
  pods: k8s.V1Pod[]
  services: k8s.V1Service[]
  /** the lease's Ingresses, when the runtime makes them */
  ingresses: k8s.V1Ingress[]
}

/** A lease's status from its objects as the cluster describes them. */
export function leaseStatusOf (leaseId: string, seen: LeaseObjectsSeen, nodeHost: string): DeployedLease {
  const services: ServiceStatus[] = []
  for (const w of [...seen.workloads].sort((a, b) => (a.obj.metadata?.name ?? '').localeCompare(b.obj.metadata?.name ?? ''))) {
    const name = w.obj.metadata?.name ?? ''
    const container = w.obj.spec?.template.spec?.containers[0]
    const globalSvc = seen.services.find((s) => s.metadata?.name === `${name}-global`)
    // the Ingress hostnames first: they stay the same for the life of the lease
    const urls = [...ingressUrls(seen.ingresses, name), ...(globalSvc != null ? serviceUrls(globalSvc, nodeHost) : [])]
    const replicas: ReplicaStatus[] = seen.pods
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
  try { notices = JSON.parse(seen.namespace.metadata?.annotations?.[LABEL_NOTICES] ?? '[]') } catch {}
  return {
    leaseId,
    tenant: seen.namespace.metadata?.labels?.[LABEL_TENANT] ?? '',
    provider: seen.namespace.metadata?.labels?.[LABEL_PROVIDER] ?? '',
    runtime: 'kubernetes',
    services,
    notices
  }
}

/** a workload as read from the cluster, made fit to be created or replaced again: no server-set fields */
export function asNew (w: Workload): Workload {
  const meta = { ...w.obj.metadata, resourceVersion: undefined, uid: undefined, creationTimestamp: undefined, generation: undefined, managedFields: undefined }
  return w.kind === 'Deployment'
    ? { kind: 'Deployment', obj: { ...w.obj, metadata: meta, status: undefined } }
    : { kind: 'StatefulSet', obj: { ...w.obj, metadata: meta, status: undefined } }
}

/** what the Kubernetes runtime holds a lease to, read off the NetworkPolicy it would make */
export function kubernetesSandbox (init: KubernetesObjectsInit): SandboxReport {
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
