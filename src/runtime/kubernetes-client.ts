// The one way souk calls the Kubernetes API: each call timed, bounded by a timeout, and its
// failure mapped to a typed runtime error (a transient one when the API is unreachable or busy).
import { performance } from 'node:perf_hooks'
import { AbortedError, RuntimeError, RuntimeRequestError, RuntimeUnavailableError } from './errors.ts'
import { withTimeout } from './timeout.ts'

const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504])
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT'])

export function mapKubeError (err: unknown, call: string): RuntimeError {
  if (err instanceof RuntimeError) return err
  const e = err as { code?: unknown, body?: unknown, message?: string, name?: string, cause?: { code?: string } } | undefined
  if (e?.name === 'AbortError') return new AbortedError(`${call} was aborted`)
  if (typeof e?.code === 'number') {
    let message = e.message ?? ''
    try {
      const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string } | undefined
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

/** whether a mapped call failed with this HTTP status (404: not there; 409: already there) */
export function isStatus (err: unknown, status: number): boolean {
  return err instanceof RuntimeRequestError && err.status === status
}

/** one Kubernetes API call by name */
export type KubeCall = <T>(name: string, fn: () => Promise<T>) => Promise<T>

export function kubeCaller (init: { timeoutMs: number, onApiCall?: (name: string, ms: number) => void }): KubeCall {
  return async function call<T> (name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now()
    try {
      return await withTimeout(fn(), init.timeoutMs, () => new RuntimeUnavailableError(`Kubernetes API call ${name} timed out after ${init.timeoutMs} ms`))
    } catch (err) {
      throw mapKubeError(err, name)
    } finally {
      init.onApiCall?.(name, performance.now() - t0)
    }
  }
}
