export const ApiErrorCode = {
  DAEMON_NOT_RUNNING: 'ERR_DAEMON_NOT_RUNNING',
  NOT_FOUND: 'ERR_NOT_FOUND',
  BAD_REQUEST: 'ERR_BAD_REQUEST',
  TOO_LARGE: 'ERR_REQUEST_TOO_LARGE',
  INTERNAL: 'ERR_INTERNAL'
} as const

/** An error that crossed the control API: its code and message survive the trip. */
export class ApiError extends Error {
  readonly code: string
  readonly status: number
  constructor (code: string, message: string, status = 400) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = status
  }
}
