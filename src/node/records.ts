// The node's own records (tenant deployments, provider leases), kept in the node's store so a
// restarted daemon knows what it had. One row per record, written whole in one transaction.
import type { Store } from '../store/index.ts'

const MODULE = 'node-records'
const MIGRATIONS = [{
  version: 1,
  up: `CREATE TABLE node_records (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
  )`
}]

export interface Records<T> {
  put: (id: string, value: T) => void
  get: (id: string) => T | undefined
  list: () => T[]
}

// `this[k]` is the value before toJSON, which turns a Buffer into { type, data }
function replacer (this: Record<string, unknown>, k: string, v: unknown): unknown {
  const raw = this[k]
  return raw instanceof Uint8Array ? { $bytes: Buffer.from(raw).toString('base64') } : v
}
function reviver (_k: string, v: unknown): unknown {
  if (v == null || typeof v !== 'object' || Object.keys(v).length !== 1) return v
  const b64 = (v as { $bytes?: unknown }).$bytes
  return typeof b64 === 'string' ? new Uint8Array(Buffer.from(b64, 'base64')) : v
}

export function records<T> (store: Store, kind: string): Records<T> {
  store.migrate(MODULE, MIGRATIONS)
  const put = store.db.prepare('INSERT INTO node_records (kind, id, data, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at')
  const get = store.db.prepare('SELECT data FROM node_records WHERE kind = ? AND id = ?')
  const list = store.db.prepare('SELECT data FROM node_records WHERE kind = ? ORDER BY updated_at')
  return {
    put: (id, value) => { store.transaction(() => put.run(kind, id, JSON.stringify(value, replacer), Date.now())) },
    get: (id) => { const r = get.get(kind, id) as { data: string } | undefined; return r == null ? undefined : JSON.parse(r.data, reviver) as T },
    list: () => (list.all(kind) as Array<{ data: string }>).map((r) => JSON.parse(r.data, reviver) as T)
  }
}
