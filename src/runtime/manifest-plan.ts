// Runtime-independent checks on a manifest before anything is created, and the notices for
// what a runtime cannot honour. Both runtimes use these so they reject and report alike.
import { HTTP_PORTS, LEASE_ID_PATTERN, LEASE_NAME_CHARS, MAX_EXPOSES_PER_SERVICE, MAX_REPLICAS_PER_SERVICE, MAX_SERVICES, SERVICE_NAME_PATTERN } from './constants.ts'
import { InvalidLeaseIdError, UnsupportedManifestError } from './errors.ts'
import type { RuntimeNotice, ServiceUrl } from './interface.ts'
import type { Expose, Manifest, ServiceManifest } from '../sdl/types.ts'

export interface PlannedService {
  group: string
  /** path prefix for errors and notices: `services.<name>` */
  path: string
  service: ServiceManifest
}

export function checkLeaseId (leaseId: unknown): string {
  if (typeof leaseId !== 'string' || !LEASE_ID_PATTERN.test(leaseId)) throw new InvalidLeaseIdError(leaseId)
  return leaseId
}

/** the lease ID as it appears in object names: whole on Docker, as much as fits in a Kubernetes name */
export function leaseNameKey (leaseId: string, runtime: 'docker' | 'kubernetes' = 'docker'): string {
  return runtime === 'docker' ? leaseId : leaseId.slice(0, LEASE_NAME_CHARS)
}

/** Flatten and check the services of a manifest. Throws UnsupportedManifestError naming the path. */
export function planServices (manifest: Manifest): PlannedService[] {
  if (manifest == null || !Array.isArray(manifest.groups)) throw new UnsupportedManifestError('groups', 'the manifest has no groups')
  const out: PlannedService[] = []
  const seen = new Set<string>()
  for (const group of manifest.groups) {
    if (!Array.isArray(group.services)) throw new UnsupportedManifestError(`groups.${group.name}`, 'has no services')
    for (const service of group.services) {
      const path = `services.${service.name}`
      if (typeof service.name !== 'string' || !SERVICE_NAME_PATTERN.test(service.name)) {
        throw new UnsupportedManifestError(path, 'a service name must be lowercase letters, digits and dashes, start with a letter and be at most 63 characters')
      }
      // one name space per lease: Docker network aliases and Kubernetes object names
      if (seen.has(service.name)) throw new UnsupportedManifestError(path, 'the same service name appears in two placement groups')
      seen.add(service.name)
      if (typeof service.image !== 'string' || service.image.length === 0 || service.image.length > 512) throw new UnsupportedManifestError(`${path}.image`, 'must be a non-empty image reference')
      if (!Number.isInteger(service.count) || service.count < 0 || service.count > MAX_REPLICAS_PER_SERVICE) {
        throw new UnsupportedManifestError(`${path}.count`, `must be an integer from 0 to ${MAX_REPLICAS_PER_SERVICE}`)
      }
      if (service.expose.length > MAX_EXPOSES_PER_SERVICE) throw new UnsupportedManifestError(`${path}.expose`, `at most ${MAX_EXPOSES_PER_SERVICE} exposes`)
      service.expose.forEach((e, i) => {
        if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) throw new UnsupportedManifestError(`${path}.expose[${i}].port`, 'must be a port number from 1 to 65535')
        if (e.proto !== 'tcp' && e.proto !== 'udp') throw new UnsupportedManifestError(`${path}.expose[${i}].proto`, 'must be tcp or udp')
      })
      for (const [volume, params] of Object.entries(service.storage ?? {})) {
        if (!service.resources.storage.some((s) => s.name === volume)) {
          throw new UnsupportedManifestError(`${path}.params.storage.${volume}`, `names a volume that profile ${service.profile} does not define`)
        }
        if (typeof params.mount !== 'string' || !params.mount.startsWith('/')) {
          throw new UnsupportedManifestError(`${path}.params.storage.${volume}.mount`, 'must be an absolute path')
        }
      }
      out.push({ group: group.name, path, service })
    }
  }
  if (out.length > MAX_SERVICES) throw new UnsupportedManifestError('services', `at most ${MAX_SERVICES} services`)
  return out
}

export function isGlobal (e: Expose): boolean {
  return e.to.some((t) => t.global)
}

/** HTTP-ish: Akash serves `as: 80` through its HTTP ingress; `accept` and `http_options` only make sense for HTTP. */
export function urlScheme (e: Expose): 'http' | 'tcp' | 'udp' {
  if (e.proto === 'udp') return 'udp'
  if ((HTTP_PORTS as readonly number[]).includes(e.as) || (HTTP_PORTS as readonly number[]).includes(e.port) || e.accept.length > 0 || e.httpOptions != null) return 'http'
  return 'tcp'
}

export function serviceUrl (e: Expose, host: string, hostPort: number): ServiceUrl {
  return formatUrl(urlScheme(e), e, host, hostPort)
}

export function formatUrl (scheme: 'http' | 'tcp' | 'udp', e: { port: number, as: number, proto: 'tcp' | 'udp' }, host: string, hostPort: number): ServiceUrl {
  const h = host.includes(':') ? `[${host}]` : host
  return { port: e.port, as: e.as, proto: e.proto, url: `${scheme}://${h}:${hostPort}`, host, hostPort }
}

/** Notices both runtimes give: `ip` endpoints are leased public IPs, which souk providers do not sell. */
export function commonNotices (manifest: Manifest, planned: PlannedService[], runtime: 'docker' | 'kubernetes'): RuntimeNotice[] {
  const notices: RuntimeNotice[] = []
  for (const { path, service } of planned) {
    service.expose.forEach((e, i) => {
      e.to.forEach((t, j) => {
        if (t.ip != null) {
          notices.push({
            path: `${path}.expose[${i}].to[${j}].ip`,
            code: 'ip-endpoint',
            message: `the ${runtime} runtime cannot lease the dedicated IP endpoint ${JSON.stringify(t.ip)}; port ${e.port} is published on the provider's address instead`
          })
        }
      })
      if (runtime === 'docker' && e.accept.length > 0) {
        notices.push({
          path: `${path}.expose[${i}].accept`,
          code: 'accept-hostnames',
          message: `the docker runtime has no HTTP ingress: the hostnames ${e.accept.join(', ')} are not routed; use the reported URL`
        })
      }
      if (runtime === 'docker' && e.httpOptions != null) {
        notices.push({ path: `${path}.expose[${i}].http_options`, code: 'http-options', message: 'the docker runtime has no HTTP ingress: http_options are not applied' })
      }
      if (isGlobal(e) && e.as !== e.port && runtime === 'docker') {
        notices.push({ path: `${path}.expose[${i}].as`, code: 'port-remapped', message: `port ${e.port} is published on a random host port, not on ${e.as}; see the reported URL` })
      }
    })
  }
  for (const name of Object.keys(manifest.endpoints ?? {})) {
    notices.push({ path: `endpoints.${name}`, code: 'ip-endpoint', message: `the ${runtime} runtime does not provide leased IP endpoints` })
  }
  return notices
}
