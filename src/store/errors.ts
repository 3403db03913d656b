export const StoreErrorCode = {
  OPEN_FAILED: 'ERR_STORE_OPEN_FAILED',
  MIGRATION_FAILED: 'ERR_STORE_MIGRATION_FAILED',
  NEWER_SCHEMA: 'ERR_STORE_NEWER_SCHEMA',
  CLOSED: 'ERR_STORE_CLOSED'
} as const
export type StoreErrorCode = typeof StoreErrorCode[keyof typeof StoreErrorCode]

export class StoreError extends Error {
  readonly code: StoreErrorCode
  constructor (code: StoreErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined)
    this.name = 'StoreError'
    this.code = code
  }
}
