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
  INVALID_INVENTORY: 'ERR_INVALID_INVENTORY',
  IMAGE_REFUSED: 'ERR_IMAGE_REFUSED',
  SANDBOX_UNAVAILABLE: 'ERR_SANDBOX_UNAVAILABLE',
  SANDBOX_CONFIG: 'ERR_SANDBOX_CONFIG',
  CONTAINER_LIMITS: 'ERR_CONTAINER_LIMITS',
  STREAM_OVERFLOW: 'ERR_STREAM_OVERFLOW'
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

/** The image may not be run for this deployment: a private image without the tenant's proof of access, or a registry on a private network. */
export class ImageRefusedError extends RuntimeError {
  readonly image: string
  constructor (image: string, message: string) {
    super(RuntimeErrorCode.IMAGE_REFUSED, `image ${image}: ${message}`)
    this.name = 'ImageRefusedError'
    this.image = image
  }
}

/** A part of the sandbox the provider configured cannot be set up here (no iptables rights, no such OCI runtime, no loop devices). Nothing runs without it. */
export class SandboxUnavailableError extends RuntimeError {
  /** `firewall`, `oci-runtime`, `volumes` */
  readonly part: string
  constructor (part: string, message: string, cause?: unknown) {
    super(RuntimeErrorCode.SANDBOX_UNAVAILABLE, `${part}: ${message}`, { cause })
    this.name = 'SandboxUnavailableError'
    this.part = part
  }
}

/** A sandbox setting that cannot be used as written (a range that is not a CIDR, an unknown OCI runtime name). */
export class SandboxConfigError extends RuntimeError {
  constructor (message: string) {
    super(RuntimeErrorCode.SANDBOX_CONFIG, message)
    this.name = 'SandboxConfigError'
  }
}

/** The runtime's last line: a container spec without a positive memory, CPU and pids limit is never created. */
export class ContainerLimitsError extends RuntimeError {
  readonly path: string
  constructor (path: string, message: string) {
    super(RuntimeErrorCode.CONTAINER_LIMITS, `${path}: ${message}`)
    this.name = 'ContainerLimitsError'
    this.path = path
  }
}

/** A log or exec source kept writing although it was paused; the stream was ended rather than buffered further. */
export class StreamOverflowError extends RuntimeError {
  constructor (maxBytes: number) {
    super(RuntimeErrorCode.STREAM_OVERFLOW, `the stream was ended: its source kept writing past ${4 * maxBytes} buffered bytes while the reader was behind`)
    this.name = 'StreamOverflowError'
  }
}
