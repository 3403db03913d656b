export const StoreErrorCode = {
  OPEN_FAILED: 'ERR_STORE_OPEN_FAILED',
  MIGRATION_FAILED: 'ERR_STORE_MIGRATION_FAILED',
  NEWER_SCHEMA: 'ERR_STORE_NEWER_SCHEMA',
  CLOSED: 'ERR_STORE_CLOSED',
  /** the file is not a SQLite database, or its pages fail the integrity check */
  CORRUPT: 'ERR_STORE_CORRUPT',
  /** the disk holding the store has no room for the next write */
  DISK_FULL: 'ERR_STORE_DISK_FULL',
  /** a crash point (SOUK_CRASH_AT / SOUK_CRASH_FILE) that cannot be parsed */
  BAD_CRASH_POINT: 'ERR_STORE_BAD_CRASH_POINT'
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
