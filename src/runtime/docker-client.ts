// The Docker client and the one way souk calls it: each API call timed, bounded by a timeout
// (pulls and followed streams excepted) and its failure mapped to a typed runtime error. The only
// file of the Docker runtime besides docker.ts that loads dockerode.
import { performance } from 'node:perf_hooks'
import Docker from 'dockerode'
import { AbortedError, RuntimeError, RuntimeRequestError, RuntimeUnavailableError } from './errors.ts'
import { withTimeout } from './timeout.ts'

/** A Docker client for `unix://…`, a socket path or `tcp://host:port`; default DOCKER_HOST, then the local socket. */
export function dockerClient (host?: string): Docker {
  return new Docker(dockerOptions(host))
}

function dockerOptions (host: string | undefined): Docker.DockerOptions {
  const h = host ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
  if (h.startsWith('unix://')) return { socketPath: h.slice('unix://'.length) }
  if (h.startsWith('/')) return { socketPath: h }
  const u = new URL(h.replace(/^tcp:/, 'http:'))
  return { host: u.hostname, port: Number(u.port || 2375), protocol: 'http' }
}

/** socket errors that mean the engine is not there (yet): worth a retry, not the request's fault */
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ESOCKETTIMEDOUT', 'ECONNABORTED'])

/** the engine's own words for a failed call (its JSON `message`), else the error's */
export function messageOf (err: unknown): string {
  const e = err as { json?: { message?: string }, message?: string } | undefined
  return e?.json?.message ?? e?.message ?? String(err)
}

export function mapDockerError (err: unknown, call: string): RuntimeError {
  if (err instanceof RuntimeError) return err
  const e = err as { code?: string, name?: string, statusCode?: number } | undefined
  if (e?.name === 'AbortError') return new AbortedError(`${call} was aborted`)
  if (e?.code != null && TRANSIENT_CODES.has(e.code)) return new RuntimeUnavailableError(`Docker engine unreachable during ${call}: ${e.code}`, err)
  if (e?.statusCode === 503) return new RuntimeUnavailableError(`Docker engine unavailable during ${call}: ${messageOf(err)}`, err)
  return new RuntimeRequestError(`${call}: ${messageOf(err)}`, e?.statusCode, err)
}

/** whether a call failed because the object is not there (or, with 409, is already going) */
export function isStatus (err: unknown, ...statuses: number[]): boolean {
  return err instanceof RuntimeRequestError && err.status != null && statuses.includes(err.status)
}

/** one Docker API call by name; `timeout: false` for those that take as long as they take (pulls, followed logs) */
export type DockerCall = <T>(name: string, fn: () => Promise<T>, opts?: { timeout?: boolean }) => Promise<T>

export function dockerCaller (init: { timeoutMs: number, onDockerCall?: (name: string, ms: number) => void }): DockerCall {
  return async function call<T> (name: string, fn: () => Promise<T>, opts: { timeout?: boolean } = {}): Promise<T> {
    const t0 = performance.now()
    try {
      const p = fn()
      if (opts.timeout === false) return await p
      return await withTimeout(p, init.timeoutMs, () => new RuntimeUnavailableError(`Docker API call ${name} timed out after ${init.timeoutMs} ms`))
    } catch (err) {
      throw mapDockerError(err, name)
    } finally {
      init.onDockerCall?.(name, performance.now() - t0)
    }
  }
}
