import { request } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { errorCode } from '../util/index.ts'
import { ApiError, ApiErrorCode } from './errors.ts'
import { ndjsonLines } from './ndjson.ts'
import { routeParts } from './types.ts'
import type { JsonRouteKey, LinesRouteKey, RouteAnswer, RouteArgs, RouteKey, RouteLine } from './types.ts'

export interface ControlClient {
  /** a JSON route of the table in types.ts, its answer typed */
  call: <K extends JsonRouteKey>(route: K, args: RouteArgs<K>) => Promise<RouteAnswer<K>>
  /** an NDJSON route of that table: one typed value per line; an `{ error }` line ends it with that error */
  lines: <K extends LinesRouteKey>(route: K, args: RouteArgs<K>) => AsyncIterable<RouteLine<K>>
  /** access by path, the answer's type named by the caller (prefer call(), whose types the daemon is checked against) */
  get: <T = unknown>(path: string, opts?: { signal?: AbortSignal }) => Promise<T>
  post: <T = unknown>(path: string, body?: unknown, opts?: { signal?: AbortSignal }) => Promise<T>
  delete: <T = unknown>(path: string, opts?: { signal?: AbortSignal }) => Promise<T>
  /** NDJSON both ways on one request: write values, read values, until either side ends */
  duplex: <In, Out>(path: string) => Promise<{ write: (value: In) => void, end: () => void, read: AsyncIterable<Out> }>
  /** NDJSON stream by path: one parsed value per line; an `{ error }` line ends it with that error */
  stream: <T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown, opts?: { signal?: AbortSignal }) => AsyncIterable<T>
}

export interface ControlClientInit {
  socketPath: string
  /** named in the "not running" message */
  home?: string
}

function notRunning (init: ControlClientInit): ApiError {
  const where = init.home != null ? ` for ${init.home}` : ''
  const flag = init.home != null ? ` --home ${init.home}` : ''
  return new ApiError(ApiErrorCode.DAEMON_NOT_RUNNING, `the souk daemon is not running${where}; start it with \`souk${flag} node start\``, 503)
}

/** the `{ error: { code, message } }` an answer may carry, read from parsed JSON */
function errorOf (parsed: unknown): { code?: string, message?: string } | undefined {
  if (parsed == null || typeof parsed !== 'object' || !('error' in parsed)) return undefined
  const e: unknown = parsed.error
  if (e == null || typeof e !== 'object') return undefined
  const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined
  const message = 'message' in e && typeof e.message === 'string' ? e.message : undefined
  return { code, message }
}

function httpError (parsed: unknown, status: number | undefined): ApiError {
  const e = errorOf(parsed)
  return new ApiError(e?.code ?? ApiErrorCode.INTERNAL, e?.message ?? `HTTP ${status}`, status)
}

/** the path of a route with its parameters filled in and its query appended */
export function routePath (pattern: string, params?: Record<string, string>, query?: Record<string, string>): string {
  const path = pattern.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const v = params?.[name]
    if (v == null) throw new ApiError(ApiErrorCode.BAD_REQUEST, `${pattern}: no value for :${name}`)
    return encodeURIComponent(v)
  })
  const q = new URLSearchParams(query).toString()
  return q === '' ? path : `${path}?${q}`
}

export function controlClient (init: ControlClientInit): ControlClient {
  function open (method: string, path: string, body: unknown, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body)
      const req = request({
        socketPath: init.socketPath,
        path,
        method,
        signal,
        headers: data != null ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}
      }, resolve)
      req.on('error', (err) => {
        const code = errorCode(err)
        if (code === 'ENOENT' || code === 'ECONNREFUSED') reject(notRunning(init))
        else reject(err)
      })
      if (data != null) req.write(data)
      req.end()
    })
  }

  // the answer is the daemon's JSON: its shape is the route table's (types.ts), which the daemon's routes are checked against
  async function call (method: string, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const res = await open(method, path, body, signal)
    const chunks: Buffer[] = []
    for await (const c of res) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    let parsed: unknown
    try { parsed = text === '' ? null : JSON.parse(text) } catch { throw new ApiError(ApiErrorCode.INTERNAL, `daemon sent a non-JSON answer (HTTP ${res.statusCode})`, 500) }
    if ((res.statusCode ?? 500) >= 400) throw httpError(parsed, res.statusCode)
    return parsed
  }

  async function * stream (method: 'GET' | 'POST', path: string, body?: unknown, opts?: { signal?: AbortSignal }): AsyncGenerator<unknown> {
    const res = await open(method, path, body, opts?.signal)
    if ((res.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = []
      for await (const c of res) chunks.push(c as Buffer)
      let parsed: unknown
      try { parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch {}
      throw httpError(parsed, res.statusCode)
    }
    for await (const v of ndjsonLines<unknown>(res)) {
      const e = errorOf(v)
      if (e?.code != null) throw new ApiError(e.code, e.message ?? e.code)
      yield v
    }
  }

  async function duplex<In, Out> (path: string): Promise<{ write: (value: In) => void, end: () => void, read: AsyncIterable<Out> }> {
    const req = request({ socketPath: init.socketPath, path, method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' } })
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve)
      req.on('error', (err) => { const code = errorCode(err); reject(code === 'ENOENT' || code === 'ECONNREFUSED' ? notRunning(init) : err) })
    })
    req.flushHeaders()
    async function * read (): AsyncGenerator<Out> {
      yield * ndjsonLines<Out>(await response)
    }
    return {
      write: (value) => { req.write(JSON.stringify(value) + '\n') },
      end: () => { req.end() },
      read: read()
    }
  }

  const target = (route: RouteKey, args: { params?: Record<string, string>, query?: Record<string, string> }): { method: 'GET' | 'POST', path: string } => {
    const { method, pattern } = routeParts(route)
    return { method, path: routePath(pattern, args.params, args.query) }
  }

  return {
    async call<K extends JsonRouteKey> (route: K, args: RouteArgs<K>): Promise<RouteAnswer<K>> {
      const { method, path } = target(route, args)
      return await call(method, path, args.body, args.signal) as RouteAnswer<K>
    },
    async * lines<K extends LinesRouteKey> (route: K, args: RouteArgs<K>): AsyncGenerator<RouteLine<K>> {
      const { method, path } = target(route, args)
      for await (const v of stream(method, path, args.body, { signal: args.signal })) yield v as RouteLine<K>
    },
    duplex,
    async * stream<T> (method: 'GET' | 'POST', path: string, body?: unknown, opts?: { signal?: AbortSignal }): AsyncGenerator<T> {
      for await (const v of stream(method, path, body, opts)) yield v as T
    },
    get: async <T>(path: string, opts?: { signal?: AbortSignal }) => await call('GET', path, undefined, opts?.signal) as T,
    post: async <T>(path: string, body?: unknown, opts?: { signal?: AbortSignal }) => await call('POST', path, body, opts?.signal) as T,
    delete: async <T>(path: string, opts?: { signal?: AbortSignal }) => await call('DELETE', path, undefined, opts?.signal) as T
  }
}
