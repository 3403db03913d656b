// Hostnames the ingress answers for: one generated per HTTP service of a lease (stable for the
// life of the lease: it depends only on the service name and the lease ID), and the deployment's
// own `accept` names.
import { HOSTNAME_LEASE_CHARS, MAX_HOSTNAME_LENGTH, MAX_LABEL_LENGTH } from './constants.ts'
import { IngressError, IngressErrorCode } from './errors.ts'

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
/** `*.example.com` is allowed as the first label only, as Akash allows */
const WILDCARD = '*'

/** Lowercase, no trailing dot, no port; undefined when it is not a DNS name (an IP literal is not routed). */
export function normalizeHost (raw: string | undefined): string | undefined {
  if (raw == null) return undefined
  let h = raw.trim().toLowerCase()
  if (h.startsWith('[')) return undefined
  const colon = h.lastIndexOf(':')
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(h.slice(colon + 1))) return undefined
    h = h.slice(0, colon)
  }
  if (h.endsWith('.')) h = h.slice(0, -1)
  return isHostname(h) ? h : undefined
}

export function isHostname (h: string, opts: { wildcard?: boolean } = {}): boolean {
  if (h.length === 0 || h.length > MAX_HOSTNAME_LENGTH) return false
  const labels = h.split('.')
  return labels.every((l, i) => LABEL.test(l) || (opts.wildcard === true && i === 0 && l === WILDCARD && labels.length > 2))
}

/** `web-0123456789abcdef.ingress.example.com`: one label, so a wildcard certificate for the domain covers it */
export function leaseHostname (service: string, leaseId: string, domain: string): string {
  const id = leaseId.slice(0, HOSTNAME_LEASE_CHARS)
  const room = MAX_LABEL_LENGTH - id.length - 1
  const name = service.slice(0, room).replace(/-+$/, '')
  return `${name}-${id}.${domain}`
}

/**
 * Checks an `accept` hostname for this provider: a DNS name (a leading `*.` allowed), and not under
 * the provider's own domain, whose names belong to generated hostnames of other leases.
 */
export function checkAcceptHost (host: string, domain: string, path: string): string {
  const h = host.trim().toLowerCase().replace(/\.$/, '')
  if (!isHostname(h, { wildcard: true })) throw new IngressError(IngressErrorCode.BAD_HOSTNAME, `${JSON.stringify(host)} is not a hostname`, path)
  if (h === domain || h.endsWith(`.${domain}`)) throw new IngressError(IngressErrorCode.BAD_HOSTNAME, `${h} is under this provider's ingress domain ${domain}, whose names are given out by the provider`, path)
  return h
}

/** the names a wildcard route `*.example.com` would answer `a.example.com` with */
export function wildcardOf (host: string): string | undefined {
  const dot = host.indexOf('.')
  return dot > 0 && host.indexOf('.', dot + 1) > 0 ? `*${host.slice(dot)}` : undefined
}
