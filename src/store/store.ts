// One SQLite database per node (node:sqlite, built into Node 24). WAL mode so readers never block
// the writer; synchronous=FULL so a committed transaction (a vote, say) is on disk before the
// call returns and before anything that depends on it is sent.
import { DatabaseSync } from 'node:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { StoreError, StoreErrorCode } from './errors.ts'
import { BUSY_TIMEOUT_MS, MIGRATIONS_TABLE } from './constants.ts'

/** One schema step of one module. Versions count up from 1; each runs once, in its own transaction. */
export interface Migration {
  version: number
  /** SQL statements, or a function for steps that need code */
  up: string | ((db: DatabaseSync) => void)
}

export interface StoreInit {
  /** file path, or ':memory:' for a database that lives as long as the handle */
  path: string
  /** FULL (default) syncs every commit; NORMAL only at checkpoints (faster, may lose the last commits on power loss) */
  synchronous?: 'FULL' | 'NORMAL'
}

export interface Store {
  readonly path: string
  readonly db: DatabaseSync
  /** Runs the module's migrations that have not run yet, in version order. */
  migrate: (module: string, migrations: readonly Migration[]) => void
  /** the highest migration version applied for a module (0 when none) */
  schemaVersion: (module: string) => number
  /** Runs fn inside BEGIN IMMEDIATE … COMMIT; rolls back if it throws. Nested calls join the outer transaction. */
  transaction: <T>(fn: () => T) => T
  readonly closed: boolean
  close: () => void
}

export function openStore (init: StoreInit): Store {
  const path = init.path
  let db: DatabaseSync
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    db = new DatabaseSync(path)
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
    db.exec('PRAGMA journal_mode = WAL')
    db.exec(`PRAGMA synchronous = ${init.synchronous ?? 'FULL'}`)
    db.exec('PRAGMA foreign_keys = ON')
    db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (module TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL)`)
  } catch (err: any) {
    throw new StoreError(StoreErrorCode.OPEN_FAILED, `cannot open the store at ${path}: ${String(err?.message ?? err)}`, { cause: err })
  }
  let depth = 0
  let closed = false

  const transaction = <T>(fn: () => T): T => {
    if (closed) throw new StoreError(StoreErrorCode.CLOSED, `the store at ${path} is closed`)
    if (depth > 0) {
      depth++
      try { return fn() } finally { depth-- }
    }
    db.exec('BEGIN IMMEDIATE')
    depth = 1
    try {
      const out = fn()
      db.exec('COMMIT')
      return out
    } catch (err) {
      try { db.exec('ROLLBACK') } catch {}
      throw err
    } finally {
      depth = 0
    }
  }

  const schemaVersion = (module: string): number => {
    const row = db.prepare(`SELECT version FROM ${MIGRATIONS_TABLE} WHERE module = ?`).get(module) as { version: number } | undefined
    return row?.version ?? 0
  }

  const migrate = (module: string, migrations: readonly Migration[]): void => {
    const sorted = [...migrations].sort((a, b) => a.version - b.version)
    const latest = sorted.at(-1)?.version ?? 0
    const current = schemaVersion(module)
    if (current > latest) {
      throw new StoreError(StoreErrorCode.NEWER_SCHEMA, `the store's ${module} schema is version ${current}; this program knows up to ${latest} (was it written by a newer souk?)`)
    }
    for (const m of sorted) {
      if (m.version <= current) continue
      try {
        transaction(() => {
          if (typeof m.up === 'string') db.exec(m.up)
          else m.up(db)
          db.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (module, version) VALUES (?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version`).run(module, m.version)
        })
      } catch (err: any) {
        throw new StoreError(StoreErrorCode.MIGRATION_FAILED, `${module} migration ${m.version} failed: ${String(err?.message ?? err)}`, { cause: err })
      }
    }
  }

  return {
    path,
    db,
    migrate,
    schemaVersion,
    transaction,
    get closed () { return closed },
    close: () => {
      if (closed) return
      closed = true
      db.close()
    }
  }
}
