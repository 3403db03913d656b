// An in-process HTTP server on 127.0.0.1 speaking the slice of the Kubernetes API that souk's
// Kubernetes runtime calls: namespaces, deployments, statefulsets, services, secrets,
// networkpolicies, ingresses (per namespace and across all), pods (list and log) and events, with the real request and response shapes
// (apiVersion/kind/metadata, List kinds, Status objects for errors). It also plays the part of
// the controllers a cluster runs: a created Deployment or StatefulSet gets its pods, a NodePort
// Service its node ports, a deleted namespace takes its objects with it. Pod exec speaks the
// WebSocket channel protocol (v5.channel.k8s.io: a channel byte before each frame, status JSON on
// channel 3, stdin closed with 255 0); the "container" behind it knows a few commands: echo, cat,
// sh -c 'exit N', and anything else is not found, as a kubelet reports it.
// Every object it stores, whether a client sent it or the "controllers" made it, is first
// validated against Kubernetes' own OpenAPI schemas (the kubernetes-models package carries
// them): a wrongly shaped object is refused with 422 Invalid, as a cluster would refuse it.
import { createServer } from 'node:http'
import { Namespace } from 'kubernetes-models/v1/Namespace'
import { Service } from 'kubernetes-models/v1/Service'
import { Secret } from 'kubernetes-models/v1/Secret'
import { Pod } from 'kubernetes-models/v1/Pod'
import { Event } from 'kubernetes-models/v1/Event'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { randomBytes, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'

type Obj = Record<string, any>

interface Kind { group: string, version: string, plural: string, kind: string, namespaced: boolean }

const KINDS: Kind[] = [
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
  { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', kind: 'Ingress', namespaced: true }
]

/** the schema of each kind this server stores */
const MODELS: Record<string, new (data: any) => { validate: () => void }> = {
  Namespace, Service, Secret, Pod, Event, Deployment, StatefulSet, NetworkPolicy, Ingress
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/**
 * The checks the API server's own Ingress validation makes beyond the schema (ValidateIngressSpec
 * in k8s.io/kubernetes pkg/apis/networking/validation): a rule's host is a DNS name, `*.` allowed
 * as its first label only, never an IP address; a path has a pathType, and an Exact or Prefix
 * path is absolute; a backend names a service with a port number or a port name, not both.
 */
function ingressProblem (obj: Obj): string | undefined {
  const spec = obj.spec ?? {}
  if ((spec.rules == null || spec.rules.length === 0) && spec.defaultBackend == null) return 'spec: Invalid value: either `defaultBackend` or `rules` must be specified'
  for (const [i, rule] of (spec.rules ?? []).entries()) {
    const at = `spec.rules[${i as number}]`
    if (rule.host != null) {
      const h = String(rule.host)
      const bare = h.startsWith('*.') ? h.slice(2) : h
      if (/^[0-9.]+$/.test(h) || h.includes(':')) return `${at}.host: Invalid value: "${h}": must be a DNS name, not an IP address`
      if (h.length > 253 || !DNS1123_SUBDOMAIN.test(bare) || bare.split('.').some((l) => l.length > 63)) return `${at}.host: Invalid value: "${h}": a lowercase RFC 1123 subdomain, with a wildcard only as its first label`
    }
    for (const [j, path] of (rule.http?.paths ?? []).entries()) {
      const pat = `${at}.http.paths[${j as number}]`
      if (!['Exact', 'Prefix', 'ImplementationSpecific'].includes(path.pathType)) return `${pat}.pathType: Required value: pathType must be specified`
      if (path.pathType !== 'ImplementationSpecific' && !String(path.path ?? '').startsWith('/')) return `${pat}.path: Invalid value: must be an absolute path`
      const svc = path.backend?.service
      if (svc == null && path.backend?.resource == null) return `${pat}.backend: Invalid value: one backend must be specified`
      if (svc != null && ((svc.port?.number == null) === (svc.port?.name == null))) return `${pat}.backend.service.port: Invalid value: exactly one of number or name`
      if (svc != null && svc.port?.number != null && !(svc.port.number >= 1 && svc.port.number <= 65535)) return `${pat}.backend.service.port.number: Invalid value: must be 1-65535`
    }
  }
  return undefined
}

/** why an object breaks its kind's OpenAPI schema, or undefined when it does not */
export function schemaProblem (obj: Obj): string | undefined {
  const Model = MODELS[obj?.kind]
  if (Model == null) return `no schema for kind ${String(obj?.kind)}`
  try {
    new Model(structuredClone(obj)).validate()
  } catch (err: any) {
    return String(err?.message ?? err)
  }
  return obj.kind === 'Ingress' ? ingressProblem(obj) : undefined
}

function apiVersionOf (k: Kind): string {
  return k.group === '' ? k.version : `${k.group}/${k.version}`
}

export interface RecordedRequest { method: string, path: string, query: string, body?: Obj }

export interface KubeApiServer {
  url: string
  /** objects a client sent that broke their kind's schema (each was refused with 422) */
  invalid: Array<{ kind: string, name: string, problem: string }>
  /** every request received, in order */
  requests: RecordedRequest[]
  /** the stored object, or undefined */
  get: (plural: string, namespace: string | undefined, name: string) => Obj | undefined
  list: (plural: string, namespace?: string) => Obj[]
  /** make the next request matching method and path fail with this HTTP status */
  failNext: (method: string, path: RegExp, code: number) => void
  /** append a line to a pod's log; open follow streams receive it */
  appendLog: (namespace: string, pod: string, line: string) => void
  /** images a kubelet here "cannot pull": their pods wait in ImagePullBackOff */
  missingImages: Set<string>
  kubeconfig: () => string
  close: () => Promise<void>
}

function status (code: number, reason: string, message: string, details?: Obj): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details != null ? { details } : {}), code }
}

function matches (labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (selector == null || selector === '') return true
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=')
    if (v === undefined) return labels?.[k] !== undefined
    return labels?.[k] === v
  })
}

const EXEC_PROTOCOL = 'v5.channel.k8s.io'
const STDIN = 0
const STDOUT = 1
const STATUS = 3
const CLOSE = 255

/** one exec session: the command runs as the fake container's shell would run it */
function runExec (ws: WebSocket, command: string[]): void {
  const out = (channel: number, text: string): void => { ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(text)])) }
  const exit = (code: number): void => {
    out(STATUS, JSON.stringify(code === 0
      ? { metadata: {}, status: 'Success' }
      : { metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: exit status ${code}`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(code) }] } }))
    ws.close(1000)
  }
  const [bin, ...args] = command
  if (bin === 'echo') { out(STDOUT, args.join(' ') + '\n'); exit(0); return }
  if (bin === 'sh' && args[0] === '-c' && /^exit [0-9]+$/.test(args[1] ?? '')) { exit(Number(args[1].slice(5))); return }
  if (bin === 'cat') {
    ws.on('message', (data: Buffer) => {
      if (data[0] === STDIN) out(STDOUT, data.subarray(1).toString())
      else if (data[0] === CLOSE && data[1] === STDIN) exit(0)
    })
    return
  }
  out(STATUS, JSON.stringify({ metadata: {}, status: 'Failure', reason: 'InternalError', message: `OCI runtime exec failed: exec failed: unable to start container process: exec: "${bin ?? ''}": executable file not found in $PATH: unknown`, details: { causes: [{ message: `exec: "${bin ?? ''}": executable file not found in $PATH` }] } }))
  ws.close(1000)
}

export async function startKubeApiServer (): Promise<KubeApiServer> {
  // store: "plural/namespace/name" → object
  const store = new Map<string, Obj>()
  const logs = new Map<string, string[]>()
  const followers = new Map<string, Set<ServerResponse>>()
  const requests: RecordedRequest[] = []
  const failures: Array<{ method: string, path: RegExp, code: number }> = []
  const missingImages = new Set<string>()
  let rv = 1000
  let nextNodePort = 30000
  let nextIp = 10

  const invalid: Array<{ kind: string, name: string, problem: string }> = []
  const key = (plural: string, ns: string | undefined, name: string): string => `${plural}/${ns ?? ''}/${name}`
  /** stores an object the server made itself; one that breaks its schema is a bug of this server */
  const put = (k: string, obj: Obj): void => {
    const problem = schemaProblem(obj)
    if (problem != null) throw new Error(`the test API server made an invalid ${String(obj.kind)}: ${problem}`)
    store.set(k, obj)
  }
  const list = (plural: string, ns?: string): Obj[] => [...store.entries()]
    .filter(([k]) => k.startsWith(`${plural}/`) && (ns === undefined || k.startsWith(`${plural}/${ns}/`)))
    .map(([, v]) => v)

  function stamp (obj: Obj, k: Kind, ns: string | undefined): Obj {
    obj.apiVersion = apiVersionOf(k)
    obj.kind = k.kind
    obj.metadata = { ...obj.metadata, uid: obj.metadata?.uid ?? randomUUID(), resourceVersion: String(++rv), creationTimestamp: obj.metadata?.creationTimestamp ?? new Date().toISOString() }
    if (ns != null) obj.metadata.namespace = ns
    return obj
  }

  function addEvent (ns: string, involved: Obj, reason: string, message: string): void {
    const name = `${involved.metadata.name}.${randomBytes(8).toString('hex')}`
    const now = new Date().toISOString()
    put(key('events', ns, name), stamp({
      metadata: { name },
      involvedObject: { kind: involved.kind, namespace: ns, name: involved.metadata.name, uid: involved.metadata.uid },
      reason,
      message,
      type: 'Normal',
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: 'kubelet' }
    }, KINDS.find((k) => k.plural === 'events')!, ns))
  }

  // what the deployment / statefulset controllers and the kubelet would do
  function reconcilePods (plural: 'deployments' | 'statefulsets', ns: string, w: Obj): void {
    for (const p of list('pods', ns)) {
      if (p.metadata.ownerReferences?.[0]?.uid === w.metadata.uid) store.delete(key('pods', ns, p.metadata.name))
    }
    const tpl = w.spec.template
    const hash = randomBytes(5).toString('hex').slice(0, 10)
    let ready = 0
    for (let i = 0; i < (w.spec.replicas ?? 1); i++) {
      const name = plural === 'statefulsets' ? `${w.metadata.name}-${i}` : `${w.metadata.name}-${hash}-${randomBytes(3).toString('hex').slice(0, 5)}`
      const c = tpl.spec.containers[0]
      const pullable = !missingImages.has(c.image)
      const pod = stamp({
        metadata: { name, labels: { ...tpl.metadata.labels }, ownerReferences: [{ apiVersion: w.apiVersion, kind: w.kind, name: w.metadata.name, uid: w.metadata.uid }] },
        spec: { ...tpl.spec, nodeName: 'node-1' },
        status: {
          phase: pullable ? 'Running' : 'Pending',
          podIP: `10.244.0.${++nextIp % 250}`,
          containerStatuses: [{
            name: c.name,
            image: c.image,
            imageID: pullable ? `docker-pullable://${String(c.image)}@sha256:${'0'.repeat(64)}` : '',
            ...(pullable ? { containerID: `containerd://${randomBytes(32).toString('hex')}` } : {}),
            ready: pullable,
            restartCount: 0,
            state: pullable ? { running: { startedAt: new Date().toISOString() } } : { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } }
          }]
        }
      }, KINDS.find((k) => k.plural === 'pods')!, ns)
      put(key('pods', ns, name), pod)
      logs.set(`${ns}/${name}`, pullable ? [`${c.name} started`, `listening on ${c.ports?.[0]?.containerPort ?? 0}`] : [])
      addEvent(ns, pod, 'Scheduled', `Successfully assigned ${ns}/${name} to node-1`)
      addEvent(ns, pod, pullable ? 'Started' : 'BackOff', pullable ? `Started container ${c.name}` : `Back-off pulling image "${c.image}"`)
      if (pullable) ready++
    }
    w.status = { replicas: w.spec.replicas, readyReplicas: ready, availableReplicas: ready, observedGeneration: w.metadata.generation }
  }

  function afterWrite (k: Kind, ns: string | undefined, obj: Obj, previous?: Obj): void {
    if (k.plural === 'deployments' || k.plural === 'statefulsets') {
      obj.metadata.generation = (previous?.metadata.generation ?? 0) + 1
      reconcilePods(k.plural, ns!, obj)
    }
    if (k.plural === 'services') {
      obj.spec.clusterIP ??= `10.96.0.${++nextIp % 250}`
      obj.spec.clusterIPs = [obj.spec.clusterIP]
      if (obj.spec.type === 'NodePort' || obj.spec.type === 'LoadBalancer') {
        for (const p of obj.spec.ports) p.nodePort ??= nextNodePort++
      }
      if (obj.spec.type === 'LoadBalancer') obj.status = { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } }
    }
    if (k.plural === 'namespaces') obj.status = { phase: 'Active' }
  }

  async function readBody (req: IncomingMessage): Promise<Obj | undefined> {
    const chunks: Buffer[] = []
    let size = 0
    for await (const c of req) {
      size += (c as Buffer).length
      if (size > 4 * 1024 * 1024) throw new Error('body too large')
      chunks.push(c as Buffer)
    }
    if (chunks.length === 0) return undefined
    return JSON.parse(Buffer.concat(chunks).toString())
  }

  function send (res: ServerResponse, code: number, body: Obj): void {
    res.writeHead(code, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }

  /** answers 422 Invalid, as the API server does, when an object breaks its kind's schema */
  function refuseInvalid (res: ServerResponse, obj: Obj): boolean {
    const problem = schemaProblem(obj)
    if (problem == null) return false
    invalid.push({ kind: obj.kind, name: obj.metadata?.name ?? '', problem })
    send(res, 422, status(422, 'Invalid', `${String(obj.kind)} "${String(obj.metadata?.name ?? '')}" is invalid: ${problem}`))
    return true
  }

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    const method = req.method ?? 'GET'
    const body = await readBody(req)
    requests.push({ method, path: url.pathname, query: url.search, ...(body != null ? { body } : {}) })
    const fi = failures.findIndex((f) => f.method === method && f.path.test(url.pathname))
    if (fi >= 0) {
      const f = failures.splice(fi, 1)[0]
      send(res, f.code, status(f.code, f.code === 422 ? 'Invalid' : f.code >= 500 ? 'InternalError' : 'BadRequest', `injected failure ${f.code}`))
      return
    }
    // /api/v1/... or /apis/<group>/<version>/...
    const parts = url.pathname.split('/').filter(Boolean)
    let group = ''
    let rest: string[]
    if (parts[0] === 'api' && parts[1] === 'v1') rest = parts.slice(2)
    else if (parts[0] === 'apis' && parts.length >= 3) { group = parts[1]; rest = parts.slice(3) } else { send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource')); return }
    let ns: string | undefined
    if (rest[0] === 'namespaces' && rest.length >= 3) { ns = rest[1]; rest = rest.slice(2) }
    const k = KINDS.find((x) => x.group === group && x.plural === rest[0])
    if (k == null || (k.namespaced && ns == null && method !== 'GET')) { send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource')); return }
    if (!k.namespaced && ns != null) {
      // /api/v1/namespaces/<name> was split as a namespaced path
      rest = ['namespaces', ns, ...rest]
      ns = undefined
    }
    const name = rest[1]
    const sub = rest[2]
    if (k.namespaced && ns != null && store.get(key('namespaces', undefined, ns)) == null && method === 'POST') {
      send(res, 404, status(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' }))
      return
    }

    if (name == null) {
      if (method === 'GET') {
        const items = list(k.plural, ns).filter((o) => matches(o.metadata.labels, url.searchParams.get('labelSelector')))
        send(res, 200, { kind: `${k.kind}List`, apiVersion: apiVersionOf(k), metadata: { resourceVersion: String(rv) }, items })
        return
      }
      if (method === 'POST') {
        if (body == null || body.kind !== k.kind || body.apiVersion !== apiVersionOf(k)) {
          send(res, 400, status(400, 'BadRequest', `the body must be a ${apiVersionOf(k)} ${k.kind}, got ${body?.apiVersion} ${body?.kind}`))
          return
        }
        const n = body.metadata?.name
        if (typeof n !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(n) || ((k.plural === 'namespaces' || k.plural === 'services') && n.length > 63)) {
          send(res, 422, status(422, 'Invalid', `${k.kind} "${n}" is invalid: metadata.name: Invalid value`))
          return
        }
        for (const v of Object.values(body.metadata?.labels ?? {})) {
          if (typeof v !== 'string' || v.length > 63) {
            send(res, 422, status(422, 'Invalid', `${k.kind} "${n}" is invalid: metadata.labels: Invalid value: "${v}": must be no more than 63 characters`))
            return
          }
        }
        if (store.has(key(k.plural, ns, n))) {
          send(res, 409, status(409, 'AlreadyExists', `${k.plural} "${n}" already exists`, { name: n, kind: k.plural }))
          return
        }
        const obj = stamp(structuredClone(body), k, k.namespaced ? ns : undefined)
        if (refuseInvalid(res, obj)) return
        afterWrite(k, ns, obj)
        put(key(k.plural, ns, n), obj)
        send(res, 201, obj)
        return
      }
      send(res, 405, status(405, 'MethodNotAllowed', `${method} is not supported`))
      return
    }

    const existing = store.get(key(k.plural, ns, name))
    if (sub === 'log' && k.plural === 'pods') {
      if (existing == null) { send(res, 404, status(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' })); return }
      const container = url.searchParams.get('container')
      if (container != null && !existing.spec.containers.some((c: Obj) => c.name === container)) {
        send(res, 400, status(400, 'BadRequest', `container ${container} is not valid for pod ${name}`))
        return
      }
      const lines = logs.get(`${ns}/${name}`) ?? []
      const tail = url.searchParams.get('tailLines')
      // lines carry no time here: sinceTime in the past shows everything, a recent one nothing
      const since = url.searchParams.get('sinceTime')
      const shown = since != null && Date.parse(since) > Date.parse(existing.metadata.creationTimestamp) ? [] : tail != null ? lines.slice(Math.max(0, lines.length - Number(tail))) : lines
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write(shown.map((l) => l + '\n').join(''))
      if (url.searchParams.get('follow') === 'true') {
        const set = followers.get(`${ns}/${name}`) ?? new Set()
        followers.set(`${ns}/${name}`, set)
        set.add(res)
        res.on('close', () => { set.delete(res) })
        return
      }
      res.end()
      return
    }
    if (sub != null) { send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource')); return }
    if (existing == null) {
      send(res, 404, status(404, 'NotFound', `${k.plural}${k.group !== '' ? '.' + k.group : ''} "${name}" not found`, { name, group: k.group, kind: k.plural }))
      return
    }
    if (method === 'GET') { send(res, 200, existing); return }
    if (method === 'PUT') {
      if (body == null || body.kind !== k.kind || body.metadata?.name !== name) { send(res, 400, status(400, 'BadRequest', 'name or kind in the body does not match the URL')); return }
      if (body.metadata?.resourceVersion != null && body.metadata.resourceVersion !== existing.metadata.resourceVersion) {
        send(res, 409, status(409, 'Conflict', `Operation cannot be fulfilled on ${k.plural} "${name}": the object has been modified`))
        return
      }
      const obj = stamp({ ...structuredClone(body), metadata: { ...body.metadata, uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp, generation: existing.metadata.generation } }, k, k.namespaced ? ns : undefined)
      if (refuseInvalid(res, obj)) return
      afterWrite(k, ns, obj, existing)
      put(key(k.plural, ns, name), obj)
      send(res, 200, obj)
      return
    }
    if (method === 'PATCH') {
      const merged = { ...existing, metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, ...body?.metadata?.labels }, annotations: { ...existing.metadata.annotations, ...body?.metadata?.annotations } } }
      const obj = stamp(merged, k, k.namespaced ? ns : undefined)
      if (refuseInvalid(res, obj)) return
      put(key(k.plural, ns, name), obj)
      send(res, 200, merged)
      return
    }
    if (method === 'DELETE') {
      store.delete(key(k.plural, ns, name))
      if (k.plural === 'namespaces') {
        // the namespace controller removes everything inside
        for (const kk of [...store.keys()]) if (kk.split('/')[1] === name) store.delete(kk)
        send(res, 200, { ...existing, metadata: { ...existing.metadata, deletionTimestamp: new Date().toISOString() }, status: { phase: 'Terminating' } })
        return
      }
      if (k.plural === 'deployments' || k.plural === 'statefulsets') {
        for (const p of list('pods', ns)) if (p.metadata.ownerReferences?.[0]?.uid === existing.metadata.uid) store.delete(key('pods', ns, p.metadata.name))
      }
      send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: k.group, kind: k.plural, uid: existing.metadata.uid } })
      return
    }
    send(res, 405, status(405, 'MethodNotAllowed', `${method} is not supported`))
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => { send(res, 500, status(500, 'InternalError', String(err))) })
  })
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => offered.has(EXEC_PROTOCOL) ? EXEC_PROTOCOL : false })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push({ method: 'GET', path: url.pathname, query: url.search })
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname)
    const pod = m != null ? store.get(key('pods', m[1], m[2])) : undefined
    const container = url.searchParams.get('container')
    const refuse = (code: number, body: Obj): void => {
      const json = JSON.stringify(body)
      socket.end(`HTTP/1.1 ${code} ${code === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`)
    }
    if (pod == null) { refuse(404, status(404, 'NotFound', `pods "${m?.[2] ?? ''}" not found`, { name: m?.[2], kind: 'pods' })); return }
    if (!(pod.spec.containers as Obj[]).some((c) => c.name === container)) { refuse(400, status(400, 'BadRequest', `container ${container ?? ''} is not valid for pod ${String(pod.metadata.name)}`)); return }
    if (pod.status?.phase !== 'Running') { refuse(400, status(400, 'BadRequest', `unable to upgrade connection: container not found ("${container ?? ''}")`)); return }
    wss.handleUpgrade(req, socket, head, (ws) => { runExec(ws, url.searchParams.getAll('command')) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    invalid,
    requests,
    missingImages,
    get: (plural, ns, name) => store.get(key(plural, ns, name)),
    list,
    failNext: (method, path, code) => { failures.push({ method, path, code }) },
    appendLog: (ns, pod, line) => {
      const l = logs.get(`${ns}/${pod}`) ?? []
      l.push(line)
      logs.set(`${ns}/${pod}`, l)
      for (const res of followers.get(`${ns}/${pod}`) ?? []) res.write(line + '\n')
    },
    kubeconfig: () => [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: test',
      '  cluster:',
      `    server: ${url}`,
      // plain HTTP on loopback; the client refuses http:// without this
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: provider',
      '  user:',
      '    token: test-token',
      'contexts:',
      '- name: test',
      '  context:',
      '    cluster: test',
      '    user: provider',
      'current-context: test',
      ''
    ].join('\n'),
    close: async () => {
      for (const set of followers.values()) for (const r of set) r.end()
      for (const c of wss.clients) c.terminate()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}
