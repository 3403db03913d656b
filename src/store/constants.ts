/** the table that records which migrations of which module have run */
export const MIGRATIONS_TABLE = 'souk_migrations'
/** the table holding the store's own random ID, and the suffix of the file beside it that repeats it */
export const STORE_ID_TABLE = 'souk_store_id'
export const STORE_ID_SUFFIX = '.id'
/** how long a writer waits for a lock held by another connection, ms */
export const BUSY_TIMEOUT_MS = 5_000
/**
 * Free space a store's disk must have when it opens. A node records what it signs before it
 * sends it; with less room than a few WAL segments it would stop at its first vote instead.
 */
export const MIN_FREE_BYTES = 8 * 1024 * 1024
/** SQLite primary result codes souk tells apart (https://sqlite.org/rescode.html) */
export const SqliteCode = {
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  NOTADB: 26
} as const
/** env: a crash point (see crash-points.ts) armed from the start */
export const CRASH_AT_ENV = 'SOUK_CRASH_AT'
/** env: a file whose content is a crash point, read again whenever the file changes */
export const CRASH_FILE_ENV = 'SOUK_CRASH_FILE'
