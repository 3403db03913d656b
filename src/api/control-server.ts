// The daemon's local control API: HTTP/1.1 with JSON bodies over a unix socket in the node home,
// readable by its owner only. Streaming answers (logs -f, events, progress) are NDJSON.
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse, Server } from 'node:http'
import { promises as fs } from 'node:fs'
import { errorCode, errorMessage } from '../util/index.ts'
import { ApiError, ApiErrorCode } from './errors.ts'
import { toJsonText } from './json.ts'

export const MAX_REQUEST_BYTES = 2 * 1024 * 1024

/** a request's JSON body: always an object when present (the API takes no other) */
export type RequestBody = Record<string, unknown>

export interface RouteRequest {
  params: Record<string, string>
  query: URLSearchParams
  body: RequestBody | undefined
  /** aborted when the client goes away */
  signal: AbortSignal
}

/** A handler answers with JSON, or with an async iterable of JSON values streamed as NDJSON. */
export type RouteHandler = (req: RouteRequest) => Promise<unknown> | unknown

/** A handler that owns the request and response streams (both directions at once, e.g. a shell). */
export type RawRouteHandler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void>

export interface ControlServer {
  route: (method: 'GET' | 'POST' | 'DELETE', pattern: string, handler: RouteHandler) => void
  raw: (method: 'GET' | 'POST', pattern: string, handler: RawRouteHandler) => void
  /** the registered routes (method and pattern), in the order they match */
  routes: () => Array<{ method: string, pattern: string }>
  start: () => Promise<void>
  stop: () => Promise<void>
  readonly socketPath: string
}

export interface ControlServerInit {
  socketPath: string
}

interface Route { method: string, parts: string[], handler: RouteHandler, raw?: RawRouteHandler, pattern?: string }

function match (route: Route, method: string, parts: string[]): Record<string, string> | null {
  if (route.method !== method || route.parts.length !== parts.length) return null
  const params: Record<string, string> = {}
  for (let i = 0; i < parts.length; i++) {
    const p = route.parts[i]
    if (p.startsWith(':')) params[p.slice(1)] = decodePart(parts[i])
    else if (p !== parts[i]) return null
  }
  return params
}

function decodePart (part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new ApiError(ApiErrorCode.BAD_REQUEST, `path segment ${JSON.stringify(part.slice(0, 64))} is not valid percent-encoding`)
  }
}

/** the parts of a request the API reads, before any handler runs */
export interface ParsedRequest {
  /** the route's pattern, e.g. /v1/leases/:id */
  pattern: string
  params: Record<string, string>
  query: URLSearchParams
  body: RequestBody | undefined
}

/**
 * Matches a request against `routes` and parses its body: the control API's decoder, the same for
 * the server and the fuzzer. Errors are ApiErrors (NOT_FOUND, BAD_REQUEST, TOO_LARGE).
 */
export function parseRequest (routes: ReadonlyArray<{ method: string, pattern: string }>, method: string, url: string, body: Uint8Array | undefined): ParsedRequest {
  if (body != null && body.length > MAX_REQUEST_BYTES) throw new ApiError(ApiErrorCode.TOO_LARGE, `request body over ${MAX_REQUEST_BYTES} bytes`, 413)
  let u: URL
  try {
    u = new URL(url, 'http://souk')
  } catch {
    throw new ApiError(ApiErrorCode.BAD_REQUEST, 'request URL is not valid')
  }
  const parts = u.pathname.split('/').filter((p) => p !== '')
  for (const r of routes) {
    const params = match({ method: r.method, parts: r.pattern.split('/').filter((p) => p !== ''), handler: () => undefined }, method, parts)
    if (params != null) return { pattern: r.pattern, params, query: u.searchParams, body: parseBody(body) }
  }
  throw new ApiError(ApiErrorCode.NOT_FOUND, `no such endpoint: ${method} ${u.pathname.slice(0, 200)}`, 404)
}

function parseBody (body: Uint8Array | undefined): RequestBody | undefined {
  if (body == null || body.length === 0) return undefined
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw new ApiError(ApiErrorCode.BAD_REQUEST, 'request body is not valid UTF-8')
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ApiError(ApiErrorCode.BAD_REQUEST, 'request body is not valid JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ApiError(ApiErrorCode.BAD_REQUEST, 'request body must be a JSON object')
  return value as RequestBody
}

async function readBody (req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req) {
    size += (c as Buffer).length
    if (size > MAX_REQUEST_BYTES) throw new ApiError(ApiErrorCode.TOO_LARGE, `request body over ${MAX_REQUEST_BYTES} bytes`, 413)
    chunks.push(c as Buffer)
  }
  return Buffer.concat(chunks)
}

function isAsyncIterable (v: unknown): v is AsyncIterable<unknown> {
  return v != null && typeof v === 'object' && Symbol.asyncIterator in v && typeof v[Symbol.asyncIterator] === 'function'
}

const json = (v: unknown): string => toJsonText(v)

export function controlServer (init: ControlServerInit): ControlServer {
  const routes: Route[] = []
  let server: Server | undefined

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ac = new AbortController()
    res.on('close', () => ac.abort())
    try {
      const url = new URL(req.url ?? '/', 'http://souk')
      const parts = url.pathname.split('/').filter((p) => p !== '')
      let found: { route: Route, params: Record<string, string> } | undefined
      for (const r of routes) {
        const params = match(r, req.method ?? 'GET', parts)
        if (params != null) { found = { route: r, params }; break }
      }
      if (found == null) throw new ApiError(ApiErrorCode.NOT_FOUND, `no such endpoint: ${req.method} ${url.pathname}`, 404)
      if (found.route.raw != null) { await found.route.raw(req, res, found.params); return }
      const body = parseBody(await readBody(req))
      const out = await found.route.handler({ params: found.params, query: url.searchParams, body, signal: ac.signal })
      if (isAsyncIterable(out)) {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' })
        for await (const item of out) {
          if (ac.signal.aborted) break
          if (!res.write(json(item) + '\n')) await new Promise((resolve) => res.once('drain', resolve))
        }
        res.end()
        return
      }
      const text = json(out ?? null)
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      res.end(text)
    } catch (err) {
      const status = err instanceof ApiError ? err.status : (errorCode(err)?.startsWith('ERR_') === true ? 400 : 500)
      const code = errorCode(err) ?? ApiErrorCode.INTERNAL
      const text = json({ error: { code, message: errorMessage(err) } })
      if (!res.headersSent) {
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
        res.end(text)
      } else {
        // mid-stream: report the error as the last NDJSON line
        res.end(text + '\n')
      }
    }
  }

  return {
    socketPath: init.socketPath,
    route (method, pattern, handler) {
      routes.push({ method, parts: pattern.split('/').filter((p) => p !== ''), handler, pattern })
    },
    raw (method, pattern, raw) {
      routes.push({ method, parts: pattern.split('/').filter((p) => p !== ''), handler: () => undefined, raw, pattern })
    },
    routes: () => routes.map((r) => ({ method: r.method, pattern: r.pattern ?? `/${r.parts.join('/')}` })),
    async start () {
      // a socket left by a crashed daemon is stale: remove it, but never one a live daemon holds
      await fs.rm(init.socketPath, { force: true })
      server = createServer((req, res) => { void handle(req, res) })
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject)
        server!.listen(init.socketPath, () => { server!.off('error', reject); resolve() })
      })
      await fs.chmod(init.socketPath, 0o600)
    },
    async stop () {
      if (server == null) return
      const s = server
      server = undefined
      s.closeAllConnections?.()
      await new Promise<void>((resolve) => s.close(() => resolve()))
      await fs.rm(init.socketPath, { force: true })
    }
  }
}
