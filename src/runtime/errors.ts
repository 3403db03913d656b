// Runtime errors carry a `code` and say whether retrying later can help (`transient`).
// A provider must never tear down a lease because of a transient error.

export const RuntimeErrorCode = {
  UNAVAILABLE: 'ERR_RUNTIME_UNAVAILABLE',
  INVALID_LEASE_ID: 'ERR_INVALID_LEASE_ID',
  UNSUPPORTED_MANIFEST: 'ERR_UNSUPPORTED_MANIFEST',
  LEASE_NOT_FOUND: 'ERR_LEASE_NOT_FOUND',
  LEASE_EXISTS: 'ERR_LEASE_EXISTS',
  SERVICE_NOT_FOUND: 'ERR_SERVICE_NOT_FOUND',
  IMAGE_UNAVAILABLE: 'ERR_IMAGE_UNAVAILABLE',
  DEPLOY_FAILED: 'ERR_DEPLOY_FAILED',
  UPDATE_FAILED: 'ERR_UPDATE_FAILED',
  REQUEST_REJECTED: 'ERR_RUNTIME_REQUEST_REJECTED',
  ABORTED: 'ERR_ABORTED',
  INSUFFICIENT_RESOURCES: 'ERR_INSUFFICIENT_RESOURCES',
  RESERVATION_EXISTS: 'ERR_RESERVATION_EXISTS',
  INVALID_INVENTORY: 'ERR_INVALID_INVENTORY'
} as const
export type RuntimeErrorCode = typeof RuntimeErrorCode[keyof typeof RuntimeErrorCode]

export class RuntimeError extends Error {
  readonly code: RuntimeErrorCode
  /** true when the same call may succeed later (daemon restarting, API timeout) */
  readonly transient: boolean
  constructor (code: RuntimeErrorCode, message: string, opts: { transient?: boolean, cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined)
    this.name = 'RuntimeError'
    this.code = code
    this.transient = opts.transient ?? false
  }
}

/** The container engine or cluster API cannot be reached or timed out. Retry later; remove nothing. */
export class RuntimeUnavailableError extends RuntimeError {
  constructor (message: string, cause?: unknown) {
    super(RuntimeErrorCode.UNAVAILABLE, message, { transient: true, cause })
    this.name = 'RuntimeUnavailableError'
  }
}

export class InvalidLeaseIdError extends RuntimeError {
  constructor (leaseId: unknown) {
    super(RuntimeErrorCode.INVALID_LEASE_ID, `lease ID must be 16 to 128 lowercase hex digits, got ${JSON.stringify(String(leaseId).slice(0, 80))}`)
    this.name = 'InvalidLeaseIdError'
  }
}

/** The manifest asks for something this runtime cannot run at all (not merely cannot honour: those are notices). */
export class UnsupportedManifestError extends RuntimeError {
  readonly path: string
  constructor (path: string, message: string) {
    super(RuntimeErrorCode.UNSUPPORTED_MANIFEST, `${path}: ${message}`)
    this.name = 'UnsupportedManifestError'
    this.path = path
  }
}

export class LeaseNotFoundError extends RuntimeError {
  constructor (leaseId: string) {
    super(RuntimeErrorCode.LEASE_NOT_FOUND, `lease ${leaseId} is not running here`)
    this.name = 'LeaseNotFoundError'
  }
}

export class LeaseExistsError extends RuntimeError {
  constructor (leaseId: string) {
    super(RuntimeErrorCode.LEASE_EXISTS, `lease ${leaseId} is already deployed; use update to change it`)
    this.name = 'LeaseExistsError'
  }
}

export class ServiceNotFoundError extends RuntimeError {
  constructor (leaseId: string, service: string) {
    super(RuntimeErrorCode.SERVICE_NOT_FOUND, `lease ${leaseId} has no running replica of service ${JSON.stringify(service)}`)
    this.name = 'ServiceNotFoundError'
  }
}

export class ImageUnavailableError extends RuntimeError {
  readonly image: string
  constructor (image: string, message: string, cause?: unknown) {
    super(RuntimeErrorCode.IMAGE_UNAVAILABLE, `image ${image}: ${message}`, { cause })
    this.name = 'ImageUnavailableError'
    this.image = image
  }
}

/** Deploy failed for a permanent reason; everything it created has been removed. */
export class DeployFailedError extends RuntimeError {
  constructor (message: string, cause?: unknown) {
    super(RuntimeErrorCode.DEPLOY_FAILED, message, { cause })
    this.name = 'DeployFailedError'
  }
}

/** An update could not be rolled out; the previous manifest is still running. */
export class UpdateFailedError extends RuntimeError {
  constructor (message: string, cause?: unknown) {
    super(RuntimeErrorCode.UPDATE_FAILED, message, { cause, transient: cause instanceof RuntimeError && cause.transient })
    this.name = 'UpdateFailedError'
  }
}

/** The engine or API answered but refused the request (bad spec, forbidden, conflict). */
export class RuntimeRequestError extends RuntimeError {
  readonly status?: number
  constructor (message: string, status?: number, cause?: unknown) {
    super(RuntimeErrorCode.REQUEST_REJECTED, message, { cause })
    this.name = 'RuntimeRequestError'
    this.status = status
  }
}

export class AbortedError extends RuntimeError {
  constructor (message = 'the operation was aborted') {
    super(RuntimeErrorCode.ABORTED, message)
    this.name = 'AbortError'
  }
}

/** What a reservation needs exceeds what is free; `reason` is a machine-readable code. */
export class InsufficientResourcesError extends RuntimeError {
  readonly reason: string
  constructor (reason: string, message: string) {
    super(RuntimeErrorCode.INSUFFICIENT_RESOURCES, message)
    this.name = 'InsufficientResourcesError'
    this.reason = reason
  }
}

export class ReservationExistsError extends RuntimeError {
  constructor (id: string) {
    super(RuntimeErrorCode.RESERVATION_EXISTS, `reservation ${id} already exists`)
    this.name = 'ReservationExistsError'
  }
}

export class InvalidInventoryError extends RuntimeError {
  constructor (message: string) {
    super(RuntimeErrorCode.INVALID_INVENTORY, message)
    this.name = 'InvalidInventoryError'
  }
}
