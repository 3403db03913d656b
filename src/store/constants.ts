/** the table that records which migrations of which module have run */
export const MIGRATIONS_TABLE = 'souk_migrations'
/** how long a writer waits for a lock held by another connection, ms */
export const BUSY_TIMEOUT_MS = 5_000
