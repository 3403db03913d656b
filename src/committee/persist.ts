// The committee's tables in the node's store. Every signature this validator makes is recorded
// (and synced, the store runs synchronous=FULL) before it leaves the process, so a restarted
// validator re-sends what it signed instead of signing something that conflicts with it.
import type { Store, Migration } from '../store/index.ts'
import type { SQLOutputValue, StatementSync } from 'node:sqlite'
import { encodeCbor, decodeCbor } from '../wire/codec.ts'

export const COMMITTEE_MODULE = 'committee'

export const COMMITTEE_MIGRATIONS: readonly Migration[] = [{
  version: 1,
  up: `
    CREATE TABLE committee_signed (kind TEXT NOT NULL, height INTEGER NOT NULL, round INTEGER NOT NULL, value BLOB NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (kind, height, round));
    CREATE TABLE committee_locks (height INTEGER NOT NULL, round INTEGER NOT NULL, proposal BLOB NOT NULL, PRIMARY KEY (height, round));
    CREATE TABLE committee_batches (height INTEGER PRIMARY KEY, hash BLOB NOT NULL, proposal BLOB NOT NULL, commit_votes BLOB NOT NULL, signatures BLOB);
    CREATE TABLE committee_items (id BLOB PRIMARY KEY, height INTEGER NOT NULL, bytes BLOB NOT NULL);
    CREATE TABLE committee_evidence (key TEXT PRIMARY KEY, bytes BLOB NOT NULL);
    CREATE TABLE committee_files (epoch INTEGER PRIMARY KEY, json TEXT NOT NULL);
  `
}]

export type SignedKind = 'proposal' | 'prevote' | 'precommit' | 'finalize' | 'file' | 'tally'

export interface SignedRow { kind: SignedKind, height: number, round: number, value: Uint8Array, bytes: Uint8Array }
export interface BatchRow { height: number, hash: Uint8Array, proposal: Uint8Array, commit: Uint8Array[], signatures?: Uint8Array }

export interface CommitteePersistence {
  readonly store: Store
  signed: (kind: SignedKind, height: number, round: number) => SignedRow | undefined
  signedAt: (height: number) => SignedRow[]
  /**
   * Records a signature in one synced transaction; for a precommit also the proposal it locks on
   * and that proposal's items (after a restart the lock must still be checkable and servable)
   */
  recordSigned: (row: SignedRow, lockProposal?: Uint8Array, lockItems?: Array<{ id: Uint8Array, bytes: Uint8Array }>) => void
  lockAt: (height: number) => { round: number, proposal: Uint8Array } | undefined
  saveBatch: (row: BatchRow, items: Array<{ id: Uint8Array, bytes: Uint8Array }>) => void
  saveSignatures: (height: number, signatures: Uint8Array) => void
  batch: (height: number) => BatchRow | undefined
  batches: (from: number, limit: number) => BatchRow[]
  lastHeight: () => number
  item: (id: Uint8Array) => Uint8Array | undefined
  saveEvidence: (key: string, bytes: Uint8Array) => void
  evidence: () => Array<{ key: string, bytes: Uint8Array }>
  saveFile: (epoch: number, json: string) => void
  files: () => Array<{ epoch: number, json: string }>
}

function u8 (v: unknown): Uint8Array {
  const b = v as Uint8Array
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

type Row = Record<string, SQLOutputValue>
// the tables' rows; type aliases, not interfaces, so a row of SQL values can be read as one
type SignedTableRow = { kind: SignedKind, height: number, round: number, value: Uint8Array, bytes: Uint8Array }
type BatchTableRow = { height: number, hash: Uint8Array, proposal: Uint8Array, commit_votes: Uint8Array, signatures: Uint8Array | null }

export function committeePersistence (store: Store): CommitteePersistence {
  store.migrate(COMMITTEE_MODULE, COMMITTEE_MIGRATIONS)
  const db = store.db
  const cache = new Map<string, StatementSync>()
  const q = (sql: string): StatementSync => {
    let s = cache.get(sql)
    if (s == null) { s = db.prepare(sql); cache.set(sql, s) }
    return s
  }
  const toRow = (r: Row): SignedRow => {
    const t = r as SignedTableRow
    return { kind: t.kind, height: t.height, round: t.round, value: u8(t.value), bytes: u8(t.bytes) }
  }
  const toBatch = (row: Row): BatchRow => {
    const r = row as BatchTableRow
    return {
      height: r.height,
      hash: u8(r.hash),
      proposal: u8(r.proposal),
      commit: (decodeCbor(u8(r.commit_votes), 1 << 24, 'stored commit') as Uint8Array[]).map(u8),
      signatures: r.signatures == null ? undefined : u8(r.signatures)
    }
  }
  // the items written with this node's last lock: a batch it then decides carries the same ones,
  // which need no second write (the lock's transaction committed them already)
  let locked: { height: number, ids: Set<Uint8Array> } | undefined
  return {
    store,
    signed: (kind, height, round) => {
      const r = q('SELECT * FROM committee_signed WHERE kind = ? AND height = ? AND round = ?').get(kind, height, round)
      return r == null ? undefined : toRow(r)
    },
    signedAt: (height) => q('SELECT * FROM committee_signed WHERE height = ? ORDER BY round, kind').all(height).map(toRow),
    recordSigned: (row, lockProposal, lockItems) => {
      store.transaction(() => {
        q('INSERT INTO committee_signed (kind, height, round, value, bytes) VALUES (?, ?, ?, ?, ?)').run(row.kind, row.height, row.round, row.value, row.bytes)
        if (lockProposal != null) q('INSERT OR REPLACE INTO committee_locks (height, round, proposal) VALUES (?, ?, ?)').run(row.height, row.round, lockProposal)
        const ins = q('INSERT OR IGNORE INTO committee_items (id, height, bytes) VALUES (?, ?, ?)')
        for (const it of lockItems ?? []) ins.run(it.id, row.height, it.bytes)
      })
      if (lockItems != null) locked = { height: row.height, ids: new Set(lockItems.map((it) => it.id)) }
    },
    lockAt: (height) => {
      const r = q('SELECT round, proposal FROM committee_locks WHERE height = ? ORDER BY round DESC LIMIT 1').get(height) as { round: number, proposal: Uint8Array } | undefined
      return r == null ? undefined : { round: r.round, proposal: u8(r.proposal) }
    },
    saveBatch: (row, items) => {
      store.transaction(() => {
        q('INSERT OR IGNORE INTO committee_batches (height, hash, proposal, commit_votes, signatures) VALUES (?, ?, ?, ?, ?)')
          .run(row.height, row.hash, row.proposal, encodeCbor(row.commit), row.signatures ?? null)
        const ins = q('INSERT OR IGNORE INTO committee_items (id, height, bytes) VALUES (?, ?, ?)')
        const done = locked?.height === row.height ? locked.ids : undefined
        for (const it of items) if (done?.has(it.id) !== true) ins.run(it.id, row.height, it.bytes)
        // rows of finished heights are no longer needed to stay consistent
        q('DELETE FROM committee_signed WHERE height < ? AND kind IN (\'proposal\', \'prevote\', \'precommit\')').run(row.height)
        q('DELETE FROM committee_locks WHERE height <= ?').run(row.height)
        // a tally matters until its auctions settle (a minute of committee time at most)
        q('DELETE FROM committee_signed WHERE kind = \'tally\' AND height < ?').run(row.height - 4096)
      })
      if (locked != null && locked.height <= row.height) locked = undefined
    },
    saveSignatures: (height, signatures) => { q('UPDATE committee_batches SET signatures = ? WHERE height = ?').run(signatures, height) },
    batch: (height) => {
      const r = q('SELECT * FROM committee_batches WHERE height = ?').get(height)
      return r == null ? undefined : toBatch(r)
    },
    batches: (from, limit) => q('SELECT * FROM committee_batches WHERE height >= ? ORDER BY height LIMIT ?').all(from, limit).map(toBatch),
    lastHeight: () => (q('SELECT MAX(height) AS h FROM committee_batches').get() as { h: number | null } | undefined)?.h ?? 0,
    item: (id) => {
      const r = q('SELECT bytes FROM committee_items WHERE id = ?').get(id) as { bytes: Uint8Array } | undefined
      return r == null ? undefined : u8(r.bytes)
    },
    saveEvidence: (key, bytes) => { q('INSERT OR IGNORE INTO committee_evidence (key, bytes) VALUES (?, ?)').run(key, bytes) },
    evidence: () => (q('SELECT key, bytes FROM committee_evidence ORDER BY key').all() as Array<{ key: string, bytes: Uint8Array }>).map((r) => ({ key: r.key, bytes: u8(r.bytes) })),
    saveFile: (epoch, json) => { q('INSERT OR REPLACE INTO committee_files (epoch, json) VALUES (?, ?)').run(epoch, json) },
    files: () => (q('SELECT epoch, json FROM committee_files ORDER BY epoch').all() as Array<{ epoch: number, json: string }>).map((r) => ({ epoch: r.epoch, json: r.json }))
  }
}
