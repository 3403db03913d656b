// The provider's HTTP ingress settings (provider.ingress in souk.yaml) as the ingress takes them.
import { readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import type { IngressInit } from '../runtime/ingress/index.ts'
import type { KubernetesRuntimeInit } from '../runtime/index.ts'
import { isHostname } from '../runtime/ingress/index.ts'
import type { SoukConfig } from './config.ts'

export interface IngressConfig {
  /** route HTTP services through one listener by hostname; off: every port keeps its host port */
  enabled: boolean
  /** `auto`: 80, or a free port on a test network; else a port number */
  port: string
  /** address to listen on; empty: 0.0.0.0, or 127.0.0.1 on a test network */
  listen: string
  /** generated hostnames live under it (a wildcard DNS record must point here); empty: `localhost` on a test network, else the ingress is off */
  domain: string
  /** PEM files (relative to the node home or absolute): an HTTPS listener on tlsPort */
  tlsCert: string
  tlsKey: string
  tlsPort: number
  /** Kubernetes: `ingressClassName` of the lease Ingresses; empty: the cluster's default IngressClass */
  className: string
}

export function defaultIngressConfig (): IngressConfig {
  return { enabled: true, port: 'auto', listen: '', domain: '', tlsCert: '', tlsKey: '', tlsPort: 443, className: '' }
}

export function checkIngressConfig (i: IngressConfig, problems: Array<{ path: string, message: string }>): void {
  if (i.port !== 'auto' && !(/^\d{1,5}$/.test(i.port) && Number(i.port) <= 65535)) problems.push({ path: 'provider.ingress.port', message: 'must be auto or a port 0-65535 (0 picks a free one)' })
  if (i.domain !== '' && !isHostname(i.domain.toLowerCase())) problems.push({ path: 'provider.ingress.domain', message: `${JSON.stringify(i.domain)} is not a domain like ingress.example.com` })
  if ((i.tlsCert === '') !== (i.tlsKey === '')) problems.push({ path: i.tlsCert === '' ? 'provider.ingress.tlsCert' : 'provider.ingress.tlsKey', message: 'TLS needs both tlsCert and tlsKey' })
  if (!Number.isInteger(i.tlsPort) || i.tlsPort > 65535) problems.push({ path: 'provider.ingress.tlsPort', message: 'must be a port 0-65535' })
  // an IngressClass is named like any object: a lowercase RFC 1123 subdomain
  if (i.className !== '' && !(i.className.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(i.className))) {
    problems.push({ path: 'provider.ingress.className', message: `${JSON.stringify(i.className)} is not an IngressClass name (lowercase letters, digits, '-' and '.')` })
  }
}

/**
 * On Kubernetes with an ingress domain the cluster's ingress controller serves the leases' HTTP
 * services: the runtime makes an Ingress per service port, and the node's own listener stays off.
 */
export function kubernetesIngressInit (config: SoukConfig): Pick<KubernetesRuntimeInit, 'ingressDomain' | 'ingressClassName'> {
  const i = config.provider.ingress
  if (config.provider.runtime !== 'kubernetes' || !i.enabled || i.domain === '') return {}
  return { ingressDomain: i.domain.toLowerCase(), ...(i.className !== '' ? { ingressClassName: i.className } : {}) }
}

/** What the ingress listens on, or why there is none (then HTTP services keep their host ports). */
export function ingressInit (config: SoukConfig, home: string): { init: IngressInit } | { off: string } {
  const i = config.provider.ingress
  const test = config.network.testNetwork
  if (!i.enabled) return { off: 'provider.ingress.enabled is false' }
  if (kubernetesIngressInit(config).ingressDomain != null) return { off: 'the Kubernetes cluster\'s ingress controller serves HTTP services (an Ingress per lease service port)' }
  const domain = i.domain !== '' ? i.domain.toLowerCase() : test ? 'localhost' : ''
  if (domain === '') return { off: 'provider.ingress.domain is not set (a domain with a wildcard DNS record pointing at this provider)' }
  const read = (f: string): Buffer => readFileSync(isAbsolute(f) ? f : join(home, f))
  return {
    init: {
      host: i.listen !== '' ? i.listen : test ? '127.0.0.1' : '0.0.0.0',
      port: i.port === 'auto' ? (test ? 0 : 80) : Number(i.port),
      domain,
      ...(i.tlsCert !== '' ? { tls: { cert: read(i.tlsCert), key: read(i.tlsKey), port: i.tlsPort } } : {})
    }
  }
}
