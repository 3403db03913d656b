// One SQLite database per node (node:sqlite, built into Node 24). WAL mode so readers never block
// the writer; synchronous=FULL so a committed transaction (a vote, say) is on disk before the
// call returns and before anything that depends on it is sent.
//
// A store that fails SQLite's integrity check, or a disk too full for the next write, is a typed
// error naming the file: the node refuses to start (or stops) rather than run on without the
// record of what it signed (docs/recovery.md).
import { DatabaseSync } from 'node:sqlite'
import { mkdirSync, statfsSync, readFileSync, writeFileSync, openSync, fsyncSync, closeSync, existsSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname } from 'node:path'
import { StoreError, StoreErrorCode } from './errors.ts'
import { BUSY_TIMEOUT_MS, MIGRATIONS_TABLE, MIN_FREE_BYTES, SqliteCode, STORE_ID_TABLE, STORE_ID_SUFFIX } from './constants.ts'
import { crashHook } from './crash-points.ts'
import { errorCode, errorMessage } from '../util/index.ts'

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
  /** refuse to open a file store whose disk has less free space than this (default 8 MiB; 0 skips the check) */
  minFreeBytes?: number
  /** skip the integrity check at open (a store this process just made, say) */
  skipIntegrityCheck?: boolean
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

/** the SQLite primary result code of an error from node:sqlite, if it is one */
function sqliteCode (err: unknown): number | undefined {
  const c = (err as { errcode?: unknown })?.errcode
  return typeof c === 'number' ? c & 0xff : undefined
}

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`

/** what went wrong with a store, as a typed error whose message says what to do */
export function storeFailure (path: string, err: unknown, doing: string): StoreError | undefined {
  const code = sqliteCode(err)
  const detail = errorMessage(err)
  if (code === SqliteCode.FULL || errorCode(err) === 'ENOSPC') {
    return new StoreError(StoreErrorCode.DISK_FULL, `the disk holding the store ${path} is full (${detail}) while ${doing}; nothing of that write was kept and nothing that depended on it was sent. Free space and start the node again (docs/recovery.md)`, { cause: err })
  }
  if (code === SqliteCode.CORRUPT || code === SqliteCode.NOTADB) {
    return new StoreError(StoreErrorCode.CORRUPT, `the store ${path} is damaged (${detail}) while ${doing}; the node will not run on a store it cannot trust: it holds what this node signed. See docs/recovery.md, "A damaged store"`, { cause: err })
  }
  return undefined
}

/**
 * A store and the file beside it (`store.db.id`) name each other. A store file emptied, deleted or
 * swapped for another while its home stays (a truncation to zero bytes is a valid empty database
 * to SQLite) would otherwise look like a first start, and a validator starting over would sign
 * again where it had signed before.
 */
function checkIdentity (db: DatabaseSync, path: string, existed: boolean): void {
  const marker = `${path}${STORE_ID_SUFFIX}`
  db.exec(`CREATE TABLE IF NOT EXISTS ${STORE_ID_TABLE} (id TEXT NOT NULL)`)
  const row = db.prepare(`SELECT id FROM ${STORE_ID_TABLE} LIMIT 1`).get() as { id: string } | undefined
  let expected: string | undefined
  try { expected = (JSON.parse(readFileSync(marker, 'utf8')) as { id?: string }).id } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw new StoreError(StoreErrorCode.CORRUPT, `${marker}, which names the store it belongs to, cannot be read (${errorMessage(err)}). See docs/recovery.md, "A damaged store"`)
  }
  if (expected != null && row?.id !== expected) {
    const what = row == null ? (existed ? 'was emptied' : 'is missing') : 'was replaced by another store'
    throw new StoreError(StoreErrorCode.CORRUPT, `the store ${path} ${what}: ${marker} names store ${expected.slice(0, 12)}, ${row == null ? 'and the file holds none' : `the file holds ${row.id.slice(0, 12)}`}. The node will not start over on its own: what it signed would be forgotten. See docs/recovery.md, "A damaged store"`)
  }
  let id = row?.id
  if (id == null) {
    id = randomBytes(16).toString('hex')
    db.prepare(`INSERT INTO ${STORE_ID_TABLE} (id) VALUES (?)`).run(id)
  }
  if (expected == null) {
    // the database row is committed (and synced) first: a crash in between leaves a store without its marker, which the next open writes
    const fd = openSync(marker, 'w', 0o600)
    try { writeFileSync(fd, JSON.stringify({ id, createdAt: Date.now() }) + '\n'); fsyncSync(fd) } finally { closeSync(fd) }
    try { const d = openSync(dirname(marker), 'r'); try { fsyncSync(d) } finally { closeSync(d) } } catch {}
  }
}

export function openStore (init: StoreInit): Store {
  const path = init.path
  let db: DatabaseSync | undefined
  let existed = false
  let depth = 0
  let closed = false
  const hook = crashHook({ inTransaction: () => depth > 0 })
  try {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true })
      const min = init.minFreeBytes ?? MIN_FREE_BYTES
      if (min > 0) {
        const fs = statfsSync(dirname(path))
        const free = Number(fs.bavail) * Number(fs.bsize)
        if (free < min) {
          throw new StoreError(StoreErrorCode.DISK_FULL, `the disk holding the store ${path} has ${mib(free)} free; the node needs at least ${mib(min)} to record what it signs before it sends it. Free space and start it again (docs/recovery.md)`)
        }
      }
    }
    existed = path !== ':memory:' && existsSync(path)
    db = new DatabaseSync(path)
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
    db.exec('PRAGMA journal_mode = WAL')
    db.exec(`PRAGMA synchronous = ${init.synchronous ?? 'FULL'}`)
    db.exec('PRAGMA foreign_keys = ON')
    if (path !== ':memory:' && init.skipIntegrityCheck !== true) {
      // every page, index and free list: a torn or overwritten file shows here, not mid-vote
      const rows = db.prepare('PRAGMA quick_check(8)').all() as Array<Record<string, string>>
      const problems = rows.map((r) => Object.values(r)[0]).filter((x) => x !== 'ok')
      if (problems.length > 0) {
        throw new StoreError(StoreErrorCode.CORRUPT, `the store ${path} is damaged (integrity check: ${problems.slice(0, 3).join('; ')}); the node will not run on a store it cannot trust: it holds what this node signed. See docs/recovery.md, "A damaged store"`)
      }
    }
    db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (module TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL)`)
    if (path !== ':memory:') checkIdentity(db, path, existed)
    hook?.install(db)
  } catch (err) {
    try { db?.close() } catch {}
    if (err instanceof StoreError) throw err
    throw storeFailure(path, err, 'opening it') ?? new StoreError(StoreErrorCode.OPEN_FAILED, `cannot open the store at ${path}: ${errorMessage(err)}`, { cause: err })
  }
  const open = db

  const transaction = <T>(fn: () => T): T => {
    if (closed) throw new StoreError(StoreErrorCode.CLOSED, `the store at ${path} is closed`)
    if (depth > 0) {
      depth++
      try { return fn() } finally { depth-- }
    }
    depth = 1
    try {
      open.exec('BEGIN IMMEDIATE')
      const out = fn()
      open.exec('COMMIT')
      depth = 0
      hook?.committed()
      return out
    } catch (err) {
      try { if (open.isTransaction) open.exec('ROLLBACK') } catch {}
      hook?.rolledBack()
      throw storeFailure(path, err, 'writing to it') ?? err
    } finally {
      depth = 0
    }
  }

  const schemaVersion = (module: string): number => {
    const row = open.prepare(`SELECT version FROM ${MIGRATIONS_TABLE} WHERE module = ?`).get(module) as { version: number } | undefined
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
          if (typeof m.up === 'string') open.exec(m.up)
          else m.up(open)
          open.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (module, version) VALUES (?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version`).run(module, m.version)
        })
      } catch (err) {
        if (err instanceof StoreError && err.code !== StoreErrorCode.CLOSED) throw err
        throw new StoreError(StoreErrorCode.MIGRATION_FAILED, `${module} migration ${m.version} failed: ${errorMessage(err)}`, { cause: err })
      }
    }
    hook?.install(open)
  }

  return {
    path,
    db: open,
    migrate,
    schemaVersion,
    transaction,
    get closed () { return closed },
    close: () => {
      if (closed) return
      closed = true
      open.close()
    }
  }
}
