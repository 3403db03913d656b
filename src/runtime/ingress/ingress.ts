// The provider's HTTP ingress: one listener (plus one for TLS when the operator gives a
// certificate) that routes each request by its Host header to the lease serving that name.
// Upstreams are the services' host ports as the runtime reports them, looked up again whenever
// a connection fails, so a route survives updates, container restarts and provider restarts.
// Node's own HTTP server and client carry the hot path: llhttp refuses ambiguous framing
// (request smuggling), and the header size and header time limits below hold off strangers.
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { pipeline } from 'node:stream'
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders, IncomingHttpHeaders } from 'node:http'
import type { Duplex } from 'node:stream'
import type { ContainerRuntime, DeployedLease } from '../interface.ts'
import {
  DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_KEEP_ALIVE_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES, DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_MAX_UPSTREAMS_PER_LEASE, DEFAULT_UPSTREAM_TIMEOUT_MS, HOP_BY_HOP
} from './constants.ts'
import { IngressError, IngressErrorCode } from './errors.ts'
import { normalizeHost } from './hostnames.ts'
import { routeTable } from './routes.ts'
import type { IngressRoute, RouteTable } from './routes.ts'
import { errorCode, errorMessage } from '../../util/index.ts'

export interface IngressInit {
  /** address to listen on; `0.0.0.0` on a server, `127.0.0.1` on a test network */
  host: string
  /** HTTP port; 0 picks a free one */
  port: number
  /** tried before `port` (the port a previous run picked, so URLs survive a restart); `port` if it is taken */
  preferPort?: number
  /** the domain generated hostnames live under (`ingress.example.com`; `localhost` on a test network) */
  domain: string
  /** PEM certificate and key: an HTTPS listener on tlsPort as well */
  tls?: { cert: string | Buffer, key: string | Buffer, port: number }
  maxHeaderBytes?: number
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  keepAliveTimeoutMs?: number
  upstreamTimeoutMs?: number
  maxConnections?: number
  /** requests and WebSocket pipes forwarded to one lease at once */
  maxUpstreamsPerLease?: number
}

export interface IngressMetrics {
  counter: (name: string, help: string) => { inc: (labels?: Record<string, string>, by?: number) => void }
}

export interface IngressComponents {
  /** where a lease's services listen now (`status().services[].replicas[].urls`) */
  runtime: Pick<ContainerRuntime, 'status'>
  logger?: { debug: (o: object, msg: string) => void, warn: (o: object, msg: string) => void }
  /** `souk_ingress_refused_total{reason}`: what the ingress turned away at one of its bounds */
  metrics?: IngressMetrics
}

export interface Ingress {
  readonly routes: RouteTable
  readonly domain: string
  /** the bound HTTP port (after start) */
  port: () => number
  /** the bound HTTPS port, when TLS is on */
  tlsPort: () => number | undefined
  /** `http://web-0123….localhost:41234`: how a user reaches a hostname */
  url: (host: string) => string
  /** forget where the lease's services listen (after an update) */
  invalidate: (leaseId: string) => void
  start: () => Promise<void>
  stop: () => Promise<void>
}

interface Target { host: string, port: number }

const HOP = new Set<string>(HOP_BY_HOP)

/** the headers less those that describe one hop: the fixed ones and any the Connection header names */
function endToEnd (h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const drop = h.connection == null ? HOP : new Set([...HOP, ...String(h.connection).split(',').map((c) => c.trim().toLowerCase())])
  const out: OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(h)) if (v != null && !drop.has(k)) out[k] = v
  return out
}

/** where `service` listens on `port` in this status: every running replica's published address */
export function targetsOf (status: DeployedLease, service: string, port: number): Target[] {
  const s = status.services.find((x) => x.name === service)
  if (s == null) return []
  const fromReplicas = s.replicas.filter((r) => r.state === 'running').flatMap((r) => r.urls).filter((u) => u.port === port && u.proto === 'tcp')
  const urls = fromReplicas.length > 0 ? fromReplicas : s.urls.filter((u) => u.port === port && u.proto === 'tcp')
  // a wildcard publish address is reached on loopback
  return urls.map((u) => ({ host: u.host === '0.0.0.0' || u.host === '' ? '127.0.0.1' : u.host === '::' ? '::1' : u.host, port: u.hostPort }))
}

export function ingress (init: IngressInit): (components: IngressComponents) => Ingress {
  if (!Number.isInteger(init.port) || init.port < 0 || init.port > 65535) throw new IngressError(IngressErrorCode.CONFIG, 'must be a port 0-65535', 'port')
  if (init.domain === '' || init.domain.startsWith('.')) throw new IngressError(IngressErrorCode.CONFIG, 'must be a domain like ingress.example.com', 'domain')
  return (components) => createIngress(init, components)
}

function createIngress (init: IngressInit, components: IngressComponents): Ingress {
  const table = routeTable()
  const targets = new Map<string, Promise<DeployedLease>>()
  const turn = new Map<string, number>()
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 60_000 })
  const servers: Array<http.Server | https.Server> = []
  // upgraded connections leave the HTTP server's books: closed by hand on stop
  const piping = new Set<Duplex>()
  const headersTimeout = init.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS
  const upstreamTimeout = init.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS
  const maxPerLease = init.maxUpstreamsPerLease ?? DEFAULT_MAX_UPSTREAMS_PER_LEASE
  /** exchanges forwarded to each lease now */
  const inFlight = new Map<string, number>()
  const log = components.logger
  const refusedTotal = components.metrics?.counter('souk_ingress_refused_total', 'connections and requests the ingress turned away at one of its bounds, by reason')
  const refused = (reason: 'max-connections' | 'lease-upstreams' | 'header-size' | 'timeout'): void => { refusedTotal?.inc({ reason }) }

  /** a slot for one exchange with the lease's upstream, and its release; undefined when the lease is at its bound */
  function hold (leaseId: string): (() => void) | undefined {
    const n = inFlight.get(leaseId) ?? 0
    if (n >= maxPerLease) { refused('lease-upstreams'); return undefined }
    inFlight.set(leaseId, n + 1)
    let held = true
    return () => {
      if (!held) return
      held = false
      const left = (inFlight.get(leaseId) ?? 1) - 1
      if (left > 0) inFlight.set(leaseId, left)
      else inFlight.delete(leaseId)
    }
  }

  /** a closed lease's cached status and replica turns go with its routes */
  function forget (leaseId: string): void {
    targets.delete(leaseId)
    for (const key of turn.keys()) if (key.startsWith(`${leaseId}/`)) turn.delete(key)
  }
  const routes: RouteTable = { ...table, remove (leaseId) { table.remove(leaseId); forget(leaseId) } }

  const status = (leaseId: string, fresh: boolean): Promise<DeployedLease> => {
    let p = fresh ? undefined : targets.get(leaseId)
    if (p == null) {
      p = components.runtime.status(leaseId)
      targets.set(leaseId, p)
      p.catch(() => { if (targets.get(leaseId) === p) targets.delete(leaseId) })
    }
    return p
  }

  /** one upstream for this route, taking replicas in turn; `fresh` asks the runtime again */
  async function pick (route: IngressRoute, fresh: boolean): Promise<Target | undefined> {
    const all = targetsOf(await status(route.leaseId, fresh), route.service, route.port)
    if (all.length === 0) return undefined
    const key = `${route.leaseId}/${route.service}/${route.port}`
    const n = (turn.get(key) ?? 0) + 1
    turn.set(key, n)
    return all[n % all.length]
  }

  function forwardHeaders (h: IncomingHttpHeaders, remote: string | undefined, proto: string): OutgoingHttpHeaders {
    const out = endToEnd(h)
    const prior = h['x-forwarded-for']
    out['x-forwarded-for'] = prior != null && prior !== '' ? `${String(prior)}, ${remote ?? ''}` : (remote ?? '')
    out['x-forwarded-proto'] = proto
    out['x-forwarded-host'] = h.host ?? ''
    return out
  }

  function plain (res: ServerResponse, code: number, text: string): void {
    if (res.headersSent) { res.destroy(); return }
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', connection: 'close' })
    res.end(text + '\n')
  }

  /** the route for a request, or why there is none */
  function route (req: IncomingMessage): { route: IngressRoute } | { code: number, text: string } {
    // origin-form only: this is not a forward proxy, and an absolute URI could name another host than Host
    if (req.url == null || !req.url.startsWith('/')) return { code: 400, text: 'bad request: the request target must be a path' }
    const host = normalizeHost(req.headers.host)
    if (host == null) return { code: 400, text: 'bad request: no usable Host header' }
    const r = routes.lookup(host)
    if (r == null) return { code: 404, text: `no lease serves ${host} here` }
    return { route: r }
  }

  function onRequest (proto: 'http' | 'https') {
    return (req: IncomingMessage, res: ServerResponse): void => {
      const found = route(req)
      if (!('route' in found)) { req.resume(); plain(res, found.code, found.text); return }
      const release = hold(found.route.leaseId)
      if (release == null) { req.resume(); plain(res, 503, `service ${found.route.service} is at its limit of ${maxPerLease} requests at once`); return }
      res.once('close', release)
      void (async () => {
        const headers = forwardHeaders(req.headers, req.socket.remoteAddress, proto)
        for (let attempt = 0; attempt < 2; attempt++) {
          let target: Target | undefined
          try {
            target = await pick(found.route, attempt > 0)
          } catch (err) {
            log?.warn({ lease: found.route.leaseId.slice(0, 12), err: errorMessage(err) }, 'ingress: runtime status failed')
            plain(res, 502, 'bad gateway: the lease\'s service cannot be reached now'); return
          }
          if (target == null) {
            if (attempt === 0) continue
            plain(res, 503, `service ${found.route.service} has no running replica`); return
          }
          const ok = await new Promise<boolean>((resolve) => {
            const up = http.request({ host: target.host, port: target.port, method: req.method, path: req.url, headers, agent, timeout: upstreamTimeout })
            let connected = false
            up.on('socket', (s) => { if (!(s as net.Socket).connecting) connected = true; else s.once('connect', () => { connected = true }) })
            up.on('response', (ur) => {
              res.writeHead(ur.statusCode ?? 502, ur.statusMessage, endToEnd(ur.headers))
              pipeline(ur, res, () => {})
              resolve(true)
            })
            up.on('timeout', () => { up.destroy(new Error('upstream timed out')) })
            up.on('error', (err: unknown) => {
              // a request body may be half sent: retry only when no connection was ever made
              if (!connected && attempt === 0 && !res.headersSent) { resolve(false); return }
              log?.debug({ lease: found.route.leaseId.slice(0, 12), err: errorMessage(err) }, 'ingress: upstream failed')
              plain(res, 502, 'bad gateway: the service did not answer')
              resolve(true)
            })
            res.on('close', () => { if (!res.writableFinished) up.destroy() })
            if (attempt === 0) pipeline(req, up, () => {})
            else req.pipe(up)
          })
          if (ok) return
        }
        plain(res, 502, 'bad gateway: the service did not answer')
      })()
    }
  }

  function refuseUpgrade (socket: Duplex, code: number, text: string): void {
    socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? ''}\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(text) + 1}\r\n\r\n${text}\n`)
  }

  /** WebSocket upgrades to a routed host are passed through as a byte pipe; nothing else is upgraded */
  function onUpgrade (proto: 'http' | 'https') {
    return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      socket.on('error', () => {})
      const found = route(req)
      if (!('route' in found)) { refuseUpgrade(socket, found.code, found.text); return }
      if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') { refuseUpgrade(socket, 400, 'only WebSocket upgrades are passed on'); return }
      const release = hold(found.route.leaseId)
      if (release == null) { refuseUpgrade(socket, 503, `service ${found.route.service} is at its limit of ${maxPerLease} connections at once`); return }
      socket.once('close', release)
      void pick(found.route, false).then(async (t) => t ?? await pick(found.route, true)).then((target) => {
        if (target == null) { refuseUpgrade(socket, 503, `service ${found.route.service} has no running replica`); return }
        const up = net.connect({ host: target.host, port: target.port })
        let piped = false
        up.on('error', () => { if (piped) socket.destroy(); else refuseUpgrade(socket, 502, 'bad gateway: the service did not answer') })
        up.setTimeout(upstreamTimeout, () => up.destroy(new Error('upstream timed out')))
        up.once('connect', () => {
          piped = true
          up.setTimeout(0)
          const h = forwardHeaders(req.headers, req.socket.remoteAddress, proto)
          let text = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1\r\n`
          for (const [k, v] of Object.entries(h)) for (const x of Array.isArray(v) ? v : [v]) text += `${k}: ${String(x)}\r\n`
          text += 'connection: Upgrade\r\nupgrade: websocket\r\n\r\n'
          up.write(text)
          if (head.length > 0) up.write(head)
          socket.on('close', () => up.destroy())
          up.on('close', () => socket.destroy())
          piping.add(socket)
          socket.on('close', () => piping.delete(socket))
          up.pipe(socket)
          socket.pipe(up)
        })
      }, () => { refuseUpgrade(socket, 502, 'bad gateway: the lease\'s service cannot be reached now') })
    }
  }

  function serverOptions (): http.ServerOptions {
    return {
      maxHeaderSize: init.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
      headersTimeout,
      requestTimeout: init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: init.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
      // how often the header and request timeouts are checked; Node's default (30 s) lets a slow client sit far past its limit
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
      requireHostHeader: true,
      insecureHTTPParser: false
    }
  }

  function setup (s: http.Server | https.Server, proto: 'http' | 'https'): void {
    s.maxConnections = init.maxConnections ?? DEFAULT_MAX_CONNECTIONS
    // past maxConnections Node closes a new connection at once, before reading a byte
    s.on('drop', () => { refused('max-connections') })
    s.on('request', onRequest(proto))
    s.on('upgrade', onUpgrade(proto))
    s.on('clientError', (err: Error, socket: Duplex) => {
      // Node's own answers: 431 for headers too large, 408 for too slow, 400 for bad framing
      const code = errorCode(err) === 'HPE_HEADER_OVERFLOW' ? 431 : errorCode(err) === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
      if (code === 431) refused('header-size')
      if (code === 408) refused('timeout')
      if ((socket as net.Socket).writable && errorCode(err) !== 'ECONNRESET') socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? ''}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
      socket.destroy()
    })
  }

  async function listen (s: http.Server | https.Server, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new IngressError(IngressErrorCode.LISTEN, `cannot listen on ${init.host}:${port}: ${errorMessage(err)}`))
      s.once('error', onError)
      s.listen(port, init.host, () => { s.off('error', onError); resolve() })
    })
  }

  const portOf = (s: http.Server | https.Server | undefined): number | undefined => {
    const a = s?.address()
    return a != null && typeof a === 'object' ? a.port : undefined
  }

  const api: Ingress = {
    routes,
    domain: init.domain,
    port: () => portOf(servers[0]) ?? init.port,
    tlsPort: () => init.tls != null ? portOf(servers[1]) ?? init.tls.port : undefined,
    url (host) {
      const tls = api.tlsPort()
      if (tls != null) return `https://${host}${tls === 443 ? '' : `:${tls}`}`
      const p = api.port()
      return `http://${host}${p === 80 ? '' : `:${p}`}`
    },
    invalidate (leaseId) { targets.delete(leaseId) },
    async start () {
      const plainServer = http.createServer(serverOptions())
      setup(plainServer, 'http')
      if (init.preferPort != null && init.preferPort > 0) {
        try {
          await listen(plainServer, init.preferPort)
        } catch {
          log?.warn({ port: init.preferPort }, 'ingress: the port of the last run is taken; URLs with it stop working')
          await listen(plainServer, init.port)
        }
      } else {
        await listen(plainServer, init.port)
      }
      servers.push(plainServer)
      if (init.tls != null) {
        const tlsServer = https.createServer({ ...serverOptions(), cert: init.tls.cert, key: init.tls.key })
        setup(tlsServer, 'https')
        try {
          await listen(tlsServer, init.tls.port)
        } catch (err) {
          await api.stop()
          throw err
        }
        servers.push(tlsServer)
      }
    },
    async stop () {
      for (const s of piping) s.destroy()
      piping.clear()
      for (const s of servers.splice(0)) {
        await new Promise<void>((resolve) => { s.close(() => resolve()); s.closeAllConnections() })
      }
      agent.destroy()
      targets.clear()
    }
  }
  return api
}
