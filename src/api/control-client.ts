import { request } from 'node:http'
import { ApiError, ApiErrorCode } from './errors.ts'
import { ndjsonLines } from './ndjson.ts'

export interface ControlClient {
  get: <T = unknown>(path: string, opts?: { signal?: AbortSignal }) => Promise<T>
  post: <T = unknown>(path: string, body?: unknown, opts?: { signal?: AbortSignal }) => Promise<T>
  delete: <T = unknown>(path: string, opts?: { signal?: AbortSignal }) => Promise<T>
  /** NDJSON both ways on one request: write values, read values, until either side ends */
  duplex: <T = unknown>(path: string) => Promise<{ write: (value: unknown) => void, end: () => void, read: AsyncIterable<T> }>
  /** NDJSON stream: one parsed value per line; an `{ error }` line ends it with that error */
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

export function controlClient (init: ControlClientInit): ControlClient {
  function open (method: string, path: string, body: unknown, signal?: AbortSignal): Promise<import('node:http').IncomingMessage> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body)
      const req = request({
        socketPath: init.socketPath,
        path,
        method,
        signal,
        headers: data != null ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}
      }, resolve)
      req.on('error', (err: any) => {
        if (err?.code === 'ENOENT' || err?.code === 'ECONNREFUSED') reject(notRunning(init))
        else reject(err)
      })
      if (data != null) req.write(data)
      req.end()
    })
  }

  async function call<T> (method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const res = await open(method, path, body, signal)
    const chunks: Buffer[] = []
    for await (const c of res) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    let parsed: any
    try { parsed = text === '' ? null : JSON.parse(text) } catch { throw new ApiError(ApiErrorCode.INTERNAL, `daemon sent a non-JSON answer (HTTP ${res.statusCode})`, 500) }
    if ((res.statusCode ?? 500) >= 400) {
      throw new ApiError(parsed?.error?.code ?? ApiErrorCode.INTERNAL, parsed?.error?.message ?? `HTTP ${res.statusCode}`, res.statusCode)
    }
    return parsed as T
  }

  async function duplex<T> (path: string): Promise<{ write: (value: unknown) => void, end: () => void, read: AsyncIterable<T> }> {
    const req = request({ socketPath: init.socketPath, path, method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' } })
    const response = new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      req.on('response', resolve)
      req.on('error', (err: any) => reject(err?.code === 'ENOENT' || err?.code === 'ECONNREFUSED' ? notRunning(init) : err))
    })
    req.flushHeaders()
    async function * read (): AsyncGenerator<T> {
      yield * ndjsonLines<T>(await response)
    }
    return {
      write: (value) => { req.write(JSON.stringify(value) + '\n') },
      end: () => { req.end() },
      read: read()
    }
  }

  return {
    duplex,
    get: (path, opts) => call('GET', path, undefined, opts?.signal),
    post: (path, body, opts) => call('POST', path, body, opts?.signal),
    delete: (path, opts) => call('DELETE', path, undefined, opts?.signal),
    async * stream<T> (method: 'GET' | 'POST', path: string, body?: unknown, opts?: { signal?: AbortSignal }): AsyncIterable<T> {
      const res = await open(method, path, body, opts?.signal)
      if ((res.statusCode ?? 500) >= 400) {
        const chunks: Buffer[] = []
        for await (const c of res) chunks.push(c as Buffer)
        let parsed: any
        try { parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch {}
        throw new ApiError(parsed?.error?.code ?? ApiErrorCode.INTERNAL, parsed?.error?.message ?? `HTTP ${res.statusCode}`, res.statusCode)
      }
      for await (const v of ndjsonLines<any>(res)) {
        if (v?.error?.code != null) throw new ApiError(v.error.code, v.error.message)
        yield v as T
      }
    }
  }
}
