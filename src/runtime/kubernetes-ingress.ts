// Ingress objects for a lease on Kubernetes: what the provider's own HTTP listener does on Docker
// (src/runtime/ingress/), handed to the cluster's ingress controller instead. The hosts are the
// ones the listener would route (planRoutes: the generated `<service>-<lease>.<domain>` name and
// the `accept` names, by the same rules), first come first served across the cluster as the
// listener's route table serves them. One Ingress per service port, since a controller applies
// annotations (http_options) to a whole Ingress object, each with one rule per host.
// The builders here are pure; the few API calls take the runtime's client and call wrapper.
import type * as k8s from '@kubernetes/client-node'
import { ANNOTATION_INGRESS, LABEL_EXPOSE, LABEL_SERVICE, MAX_EXPOSES_PER_SERVICE, MAX_SERVICES, NGINX_ANNOTATION_PREFIX } from './constants.ts'
import { MAX_ACCEPT_HOSTS_PER_LEASE } from './ingress/constants.ts'
import { isHostname, leaseHostname } from './ingress/hostnames.ts'
import { planRoutes } from './ingress/plan.ts'
import { routeTable } from './ingress/routes.ts'
import type { IngressRoute } from './ingress/routes.ts'
import { isGlobal, urlScheme } from './manifest-plan.ts'
import type { RuntimeNotice, ServiceUrl } from './interface.ts'
import type { HttpOptions, Manifest } from '../sdl/types.ts'

export interface KubernetesIngressInit {
  /** generated hostnames live under it; a wildcard DNS record for it points at the ingress controller */
  domain: string
  /** `spec.ingressClassName`; unset: the cluster's default IngressClass */
  className?: string
}

/** one Ingress of a lease, as kept on the lease's namespace (annotation `souk.ingress`) */
export interface IngressRecord {
  service: string
  /** the container port, which is the port of the service's ClusterIP Service */
  port: number
  /** generated names are made again from the configured domain when the Ingress is put back */
  hosts: Array<{ host: string, generated: boolean }>
  annotations: Record<string, string>
}

export interface LeaseIngressPlan {
  records: IngressRecord[]
  ingresses: k8s.V1Ingress[]
  /** `accept` names that are not routed, and why */
  notices: RuntimeNotice[]
}

/** a host some Ingress outside the lease's namespace already routes */
export interface ClaimedHost { host: string, owner: string }

export function ingressName (service: string, port: number): string {
  return `${service}-${port}`
}

const seconds = (ms: number): string => String(Math.ceil(ms / 1000))

/**
 * http_options as kubernetes/ingress-nginx annotations (Akash providers map them the same way).
 * Only what the manifest writes: Akash's defaults are ingress-nginx's own defaults.
 */
export function nginxAnnotations (o: HttpOptions | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  if (o == null) return out
  const p = NGINX_ANNOTATION_PREFIX
  if (o.maxBodySize != null) out[`${p}proxy-body-size`] = String(o.maxBodySize)
  if (o.readTimeout != null) out[`${p}proxy-read-timeout`] = seconds(o.readTimeout)
  if (o.sendTimeout != null) out[`${p}proxy-send-timeout`] = seconds(o.sendTimeout)
  if (o.nextTries != null) out[`${p}proxy-next-upstream-tries`] = String(o.nextTries)
  if (o.nextTimeout != null) out[`${p}proxy-next-upstream-timeout`] = seconds(o.nextTimeout)
  // nginx's proxy_next_upstream: space separated, status codes as http_502
  if (o.nextCases != null && o.nextCases.length > 0) out[`${p}proxy-next-upstream`] = o.nextCases.map((c) => /^\d{3}$/.test(c) ? `http_${c}` : c).join(' ')
  return out
}

/** the Ingress objects of the records, in the lease's namespace; generated hosts under `init.domain` */
export function ingressesOf (leaseId: string, records: IngressRecord[], namespace: string, labels: Record<string, string>, init: KubernetesIngressInit): k8s.V1Ingress[] {
  return records.map((r) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: ingressName(r.service, r.port),
      namespace,
      labels: { ...labels, [LABEL_SERVICE]: r.service },
      ...(Object.keys(r.annotations).length > 0 ? { annotations: { ...r.annotations } } : {})
    },
    spec: {
      ...(init.className != null && init.className !== '' ? { ingressClassName: init.className } : {}),
      rules: r.hosts.map((h) => ({
        host: h.generated ? leaseHostname(r.service, leaseId, init.domain) : h.host,
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: r.service, port: { number: r.port } } } }] }
      }))
    }
  }))
}

/**
 * What a lease's manifest becomes at the cluster's ingress controller. `claimed` are the hosts
 * other Ingresses of the cluster route: those are refused as the listener refuses a name another
 * lease holds, and reported.
 */
export function leaseIngresses (leaseId: string, manifest: Manifest, namespace: string, labels: Record<string, string>, init: KubernetesIngressInit, claimed: ClaimedHost[] = []): LeaseIngressPlan {
  const plan = planRoutes(manifest, leaseId, init.domain)
  const table = routeTable()
  const byOwner = new Map<string, IngressRoute[]>()
  for (const c of claimed) {
    const list = byOwner.get(c.owner) ?? []
    list.push({ host: c.host, leaseId: c.owner, service: '', port: 0, generated: false })
    byOwner.set(c.owner, list)
  }
  for (const [owner, routes] of byOwner) table.set(owner, routes)
  const { refused } = table.set(leaseId, plan.routes)
  const notices = [...plan.notices, ...refused.map((r) => ({
    path: `services.${r.service}`,
    code: 'accept-hostnames',
    // who holds a name is not the tenant's business
    message: `${r.host} is not routed: ${r.reason.startsWith('named twice') ? r.reason : 'another lease or Ingress in this cluster serves it'}`
  }))]
  const records: IngressRecord[] = []
  for (const route of table.routes(leaseId)) {
    let rec = records.find((x) => x.service === route.service && x.port === route.port)
    if (rec == null) {
      const service = manifest.groups.flatMap((g) => g.services).find((s) => s.name === route.service)
      const http = service?.expose.filter((e) => e.port === route.port && isGlobal(e) && e.proto === 'tcp' && urlScheme(e) === 'http') ?? []
      rec = { service: route.service, port: route.port, hosts: [], annotations: nginxAnnotations(http.find((e) => e.httpOptions != null)?.httpOptions) }
      records.push(rec)
    }
    rec.hosts.push({ host: route.host, generated: route.generated })
  }
  return { records, ingresses: ingressesOf(leaseId, records, namespace, labels, init), notices }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null

/** one record as parsed from the annotation: checked field by field, since anyone with access to the namespace can edit it */
function isIngressRecord (r: unknown): r is IngressRecord {
  if (!isObject(r)) return false
  const { service, port, hosts, annotations } = r
  return typeof service === 'string' && typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 &&
    Array.isArray(hosts) && hosts.length <= MAX_ACCEPT_HOSTS_PER_LEASE + 1 &&
    hosts.every((h) => isObject(h) && typeof h.generated === 'boolean' && typeof h.host === 'string' && isHostname(h.host, { wildcard: true })) &&
    isObject(annotations) && Object.values(annotations).every((a) => typeof a === 'string')
}

/** the records kept on a namespace; undefined when there are none or they were edited out of shape */
export function readIngressRecords (annotations: Record<string, string> | undefined): IngressRecord[] | undefined {
  const text = annotations?.[ANNOTATION_INGRESS]
  if (text == null || text.length > 256 * 1024) return undefined
  let v: unknown
  try { v = JSON.parse(text) } catch { return undefined }
  if (!Array.isArray(v) || v.length > MAX_SERVICES * MAX_EXPOSES_PER_SERVICE) return undefined
  const ok = v.every(isIngressRecord)
  return ok ? v : undefined
}

/** `http://<host>` for each host an Ingress routes to `service` (wildcards are not addresses) */
export function ingressUrls (ingresses: k8s.V1Ingress[], service: string): ServiceUrl[] {
  const urls: ServiceUrl[] = []
  for (const ing of ingresses) {
    if (ing.metadata?.labels?.[LABEL_SERVICE] !== service) continue
    for (const rule of ing.spec?.rules ?? []) {
      const port = rule.http?.paths[0]?.backend.service?.port?.number
      if (rule.host == null || rule.host.startsWith('*') || port == null) continue
      urls.push({ port, as: 80, proto: 'tcp', url: `http://${rule.host}`, host: rule.host, hostPort: 80 })
    }
  }
  return urls
}

/** the parts of an Ingress souk sets: what a hand edit may have changed */
function shape (i: k8s.V1Ingress): string {
  return JSON.stringify([i.metadata?.labels ?? {}, i.metadata?.annotations ?? {}, i.spec?.ingressClassName ?? null, i.spec?.rules ?? [], i.spec?.defaultBackend ?? null, i.spec?.tls ?? null])
}

type Call = <T>(name: string, fn: () => Promise<T>) => Promise<T>

export interface IngressClient {
  net: k8s.NetworkingV1Api
  call: Call
  isNotFound: (err: unknown) => boolean
}

/** hosts routed by every Ingress of the cluster outside `namespace` */
export async function claimedHosts (c: IngressClient, namespace: string): Promise<ClaimedHost[]> {
  const all = await c.call('ingress.list', async () => await c.net.listIngressForAllNamespaces())
  return all.items
    .filter((i) => i.metadata?.namespace !== namespace)
    .flatMap((i) => (i.spec?.rules ?? []).filter((r) => r.host != null).map((r) => ({ host: r.host!.toLowerCase(), owner: `${i.metadata?.namespace ?? ''}/${i.metadata?.name ?? ''}` })))
}

/**
 * Makes the namespace's souk Ingresses exactly `want`: missing ones created, changed ones
 * replaced, others with `selector` removed. Returns how to put back what was there.
 */
export async function applyIngresses (c: IngressClient, namespace: string, want: k8s.V1Ingress[], selector: string): Promise<() => Promise<void>> {
  const have = (await c.call('ingress.list', async () => await c.net.listNamespacedIngress({ namespace, labelSelector: selector }))).items
  const done: Array<() => Promise<unknown>> = []
  const undo = async (): Promise<void> => { for (const step of done.reverse()) await step().catch(() => {}) }
  const clean = (i: k8s.V1Ingress): k8s.V1Ingress => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: i.metadata?.name, namespace, labels: i.metadata?.labels, annotations: i.metadata?.annotations }, spec: i.spec })
  try {
    for (const w of want) {
      const name = w.metadata!.name!
      const old = have.find((h) => h.metadata?.name === name)
      if (old == null) {
        await c.call('ingress.create', async () => await c.net.createNamespacedIngress({ namespace, body: w }))
        done.push(async () => await c.net.deleteNamespacedIngress({ name, namespace }))
      } else if (shape(old) !== shape(w)) {
        await c.call('ingress.replace', async () => await c.net.replaceNamespacedIngress({ name, namespace, body: { ...w, metadata: { ...w.metadata, resourceVersion: old.metadata?.resourceVersion } } }))
        done.push(async () => await c.net.replaceNamespacedIngress({ name, namespace, body: clean(old) }))
      }
    }
    for (const old of have) {
      const name = old.metadata?.name ?? ''
      if (want.some((w) => w.metadata?.name === name)) continue
      try {
        await c.call('ingress.delete', async () => await c.net.deleteNamespacedIngress({ name, namespace }))
      } catch (err) {
        if (!c.isNotFound(err)) throw err
      }
      done.push(async () => await c.net.createNamespacedIngress({ namespace, body: clean(old) }))
    }
  } catch (err) {
    // half applied is put back as it was
    await undo()
    throw err
  }
  return undo
}

/**
 * The `<service>-global` Services without the ports an Ingress now serves: HTTP leaves the cluster
 * through the ingress controller, other global ports keep their NodePort or LoadBalancer.
 */
export function withoutRoutedPorts (services: k8s.V1Service[], records: IngressRecord[]): k8s.V1Service[] {
  const out: k8s.V1Service[] = []
  for (const s of services) {
    const service = s.metadata?.labels?.[LABEL_SERVICE]
    if (s.metadata?.name !== `${service ?? ''}-global` || s.spec?.ports == null) { out.push(s); continue }
    let exposes: Array<{ as: number, proto: string, s: string }> = []
    try { exposes = JSON.parse(s.metadata?.annotations?.[LABEL_EXPOSE] ?? '[]') } catch {}
    const http = (p: k8s.V1ServicePort): boolean => exposes.some((e) => e.as === p.port && e.proto === 'tcp' && e.s === 'http')
    const ports = s.spec.ports.filter((p) => !(p.protocol === 'TCP' && http(p) && records.some((r) => r.service === service && r.port === Number(p.targetPort))))
    if (ports.length > 0) out.push({ ...s, spec: { ...s.spec, ports } })
  }
  return out
}
