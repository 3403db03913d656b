export const DeployErrorCode = {
  NO_LEASE: 'ERR_NO_LEASE',
  PROVIDER_UNREACHABLE: 'ERR_PROVIDER_UNREACHABLE',
  MANIFEST_REFUSED: 'ERR_MANIFEST_REFUSED',
  DEPLOY_FAILED: 'ERR_DEPLOY_FAILED',
  TIMEOUT: 'ERR_DEPLOY_TIMEOUT',
  UNKNOWN_DEPLOYMENT: 'ERR_UNKNOWN_DEPLOYMENT'
} as const

/** A deployment that did not reach running, with the reason a person can act on. */
export class DeployError extends Error {
  readonly code: string
  readonly detail?: unknown
  constructor (code: string, message: string, detail?: unknown) {
    super(message)
    this.name = 'DeployError'
    this.code = code
    this.detail = detail
  }
}

export class NodeError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'NodeError'
    this.code = code
  }
}
