// Errors of the provider's HTTP ingress: bad configuration, a hostname that cannot be routed.

export const IngressErrorCode = {
  CONFIG: 'ERR_INGRESS_CONFIG',
  BAD_HOSTNAME: 'ERR_INGRESS_BAD_HOSTNAME',
  HOSTNAME_TAKEN: 'ERR_INGRESS_HOSTNAME_TAKEN',
  LISTEN: 'ERR_INGRESS_LISTEN'
} as const
export type IngressErrorCode = typeof IngressErrorCode[keyof typeof IngressErrorCode]

export class IngressError extends Error {
  readonly code: IngressErrorCode
  /** the setting or manifest field it is about (`provider.ingress.tlsCert`, `services.web.expose[0].accept[1]`) */
  readonly path?: string
  constructor (code: IngressErrorCode, message: string, path?: string) {
    super(path != null ? `${path}: ${message}` : message)
    this.name = 'IngressError'
    this.code = code
    if (path != null) this.path = path
  }
}
