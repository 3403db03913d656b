// Kubernetes runtime: a namespace per lease holding one Deployment (StatefulSet when the
// service has persistent storage) per service, its Services and a NetworkPolicy that admits
// traffic only from inside the namespace and to the globally exposed ports, and lets pods reach
// only each other, the cluster's DNS and the internet (not private, link-local or blocked
// ranges). The namespace is the unit of cleanup: closing a lease deletes it and Kubernetes
// removes the rest. The objects are made in kubernetes-objects.ts, the streams (logs, events,
// exec) live in kubernetes-streams.ts; this file drives the API.
import * as k8s from '@kubernetes/client-node'
import { ANNOTATION_INGRESS, ANNOTATION_LEASE_ID, DEFAULT_API_TIMEOUT_MS, DEFAULT_INSTANCE, LABEL_INSTANCE, LABEL_LEASE, LABEL_NOTICES, LABEL_PROVIDER, LABEL_SERVICE, LABEL_TENANT } from './constants.ts'
import { AbortedError, DeployFailedError, LeaseExistsError, LeaseNotFoundError, ServiceNotFoundError, UpdateFailedError } from './errors.ts'
import { isStatus, kubeCaller, mapKubeError } from './kubernetes-client.ts'
import { asNew, kubernetesObjects, kubernetesSandbox, labelSafe, leaseLabelValue, leaseStatusOf, namespaceName } from './kubernetes-objects.ts'
import type { KubernetesObjects, KubernetesObjectsInit, Workload } from './kubernetes-objects.ts'
import { kubernetesEvents, kubernetesExec, kubernetesLogs } from './kubernetes-streams.ts'
import type { KubeLeaseAccess } from './kubernetes-streams.ts'
import { checkLeaseId } from './manifest-plan.ts'
import { applyIngresses, claimedHosts, ingressesOf, leaseIngresses, readIngressRecords, withoutRoutedPorts } from './kubernetes-ingress.ts'
import type { IngressClient } from './kubernetes-ingress.ts'
import type { ContainerRuntime, DeployedLease, DeployOptions, LeaseRef, LeaseSummary, ReconcileResult, SandboxReport } from './interface.ts'
import type { Manifest } from '../sdl/types.ts'

export interface KubernetesRuntimeInit extends KubernetesObjectsInit {
  /** path to a kubeconfig file; default: KUBECONFIG, ~/.kube/config or in-cluster */
  kubeconfig?: string
  /** kubeconfig context to use */
  context?: string
  /** host written into NodePort URLs (a node's public address); default 127.0.0.1 */
  nodeHost?: string
  apiTimeoutMs?: number
  /** how often `events()` polls the namespace's events; default 2000 ms */
  eventPollMs?: number
  onApiCall?: (name: string, ms: number) => void
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
  const call = kubeCaller({ timeoutMs: init.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS, onApiCall: components.onApiCall ?? init.onApiCall })
  const nodeHost = init.nodeHost ?? '127.0.0.1'

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
          undo.push(async () => { await replaceWorkload(asNew(old), ns) })
        }
        for (const other of before.filter((x) => x.obj.metadata?.name === name && x.kind !== w.kind)) {
          await deleteWorkload(other.kind, name, ns)
          undo.push(async () => { await createWorkload(asNew(other), ns) })
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

  async function replaceWorkload (w: Workload, ns: string): Promise<void> {
    const name = w.obj.metadata!.name!
    if (w.kind === 'Deployment') await call('deployment.replace', async () => await apps.replaceNamespacedDeployment({ name, namespace: ns, body: w.obj }))
    else await call('statefulset.replace', async () => await apps.replaceNamespacedStatefulSet({ name, namespace: ns, body: w.obj }))
  }

  async function deleteWorkload (kind: Workload['kind'], name: string, ns: string): Promise<void> {
    if (kind === 'Deployment') await call('deployment.delete', async () => await apps.deleteNamespacedDeployment({ name, namespace: ns }))
    else await call('statefulset.delete', async () => await apps.deleteNamespacedStatefulSet({ name, namespace: ns }))
  }

  async function status (leaseId: string): Promise<DeployedLease> {
    checkLeaseId(leaseId)
    const namespace = await readNamespace(leaseId)
    if (namespace == null) throw new LeaseNotFoundError(leaseId)
    const ns = namespaceName(leaseId)
    const workloads = await currentWorkloads(ns)
    const pods = (await call('pod.list', async () => await core.listNamespacedPod({ namespace: ns }))).items
    const services = (await call('service.list', async () => await core.listNamespacedService({ namespace: ns }))).items
    const ingresses = ingressInit != null ? (await call('ingress.list', async () => await net.listNamespacedIngress({ namespace: ns, labelSelector: ingressSelector(leaseId) }))).items : []
    return leaseStatusOf(leaseId, { namespace, workloads, pods, services, ingresses }, nodeHost)
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

  const access: KubeLeaseAccess = { kc, core, call, eventPollMs: init.eventPollMs ?? 2000, servicePods, currentWorkloads }

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
    return kubernetesSandbox(init)
  }

  return {
    name: 'kubernetes',
    deploy,
    update,
    status,
    logs: (leaseId, opts) => kubernetesLogs(access, leaseId, opts),
    events: (leaseId, opts) => kubernetesEvents(access, leaseId, opts),
    exec: async (leaseId, opts) => await kubernetesExec(access, leaseId, opts),
    close,
    list,
    reconcile,
    sandbox
  }
}
