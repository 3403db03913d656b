// Reading the nodes' SQLite stores from outside, as the harness's source of truth: what each
// validator signed, the final batches (replayed through the committee's own ledger to know every
// lease it decided), and the evidence it kept. A running node's store is read through a read-only
// connection (WAL lets it read beside the writer); a stopped node's store is copied first, so
// that reading it (SQLite replays the WAL on open) changes nothing the node will find on restart.
import { DatabaseSync } from 'node:sqlite'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openMessage, toHex } from '../../src/wire/index.ts'
import type { SignedMessage } from '../../src/wire/index.ts'
import { Ledger, parseCommitteeFiles } from '../../src/committee/index.ts'
import type { ProposalBody, VoteBody } from '../../src/committee/index.ts'
import { batchValue } from '../../src/committee/batch.ts'
import { decodeCbor } from '../../src/wire/codec.ts'

export interface StoreHandle { db: DatabaseSync, close: () => void }

/** opens a node's store for reading; `copy` for a store whose process is not running */
export function readStore (path: string, opts: { copy?: boolean } = {}): StoreHandle | undefined {
  if (!existsSync(path)) return undefined
  if (opts.copy !== true) {
    const db = new DatabaseSync(path, { readOnly: true })
    db.exec('PRAGMA busy_timeout = 2000')
    return { db, close: () => { db.close() } }
  }
  const dir = mkdtempSync(join(tmpdir(), 'souk-chaos-read-'))
  copyFileSync(path, join(dir, 'store.db'))
  if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, join(dir, 'store.db-wal'))
  const db = new DatabaseSync(join(dir, 'store.db'))
  return { db, close: () => { db.close(); rmSync(dir, { recursive: true, force: true }) } }
}

const u8 = (v: unknown): Uint8Array => { const b = v as Uint8Array; return new Uint8Array(b.buffer, b.byteOffset, b.byteLength) }
const hasTable = (db: DatabaseSync, name: string): boolean => db.prepare('SELECT 1 FROM sqlite_master WHERE type = \'table\' AND name = ?').get(name) != null

/** one signature a validator made, as a slot and what it signed there */
export interface Signature {
  /** signer's public key, hex */
  signer: string
  kind: 'proposal' | 'prevote' | 'precommit' | 'finalize' | 'file'
  height: number
  round: number
  /** hex of the value signed (batch header hash, nil = '') */
  value: string
  /** where it was read */
  source: string
}

export interface CommitteeStoreView {
  /** this validator's own signatures still in its store */
  signed: Signature[]
  /** final batches: height → header hash (hex) */
  batches: Map<number, string>
  /** precommits of other validators kept with each final batch */
  commitVotes: Signature[]
  /** finalize signatures kept with each final batch: validator index → height */
  finalizers: Array<{ index: number, height: number, header: string }>
  evidence: number
  lastHeight: number
}

/** what a validator's store says it and the others signed; final batches from `fromHeight` on */
export function committeeView (db: DatabaseSync, signer: string, source: string, fromHeight = 1): CommitteeStoreView {
  const view: CommitteeStoreView = { signed: [], batches: new Map(), commitVotes: [], finalizers: [], evidence: 0, lastHeight: 0 }
  if (!hasTable(db, 'committee_signed')) return view
  for (const r of db.prepare('SELECT kind, height, round, value FROM committee_signed').all() as any[]) {
    view.signed.push({ signer, kind: r.kind, height: r.height, round: r.round, value: toHex(u8(r.value)), source })
  }
  view.lastHeight = fromHeight - 1
  for (const r of db.prepare('SELECT height, hash, commit_votes, signatures FROM committee_batches WHERE height >= ? ORDER BY height').all(fromHeight) as any[]) {
    const header = toHex(u8(r.hash))
    view.batches.set(r.height, header)
    view.lastHeight = Math.max(view.lastHeight, r.height)
    for (const b of decodeCbor(u8(r.commit_votes), 1 << 24, 'stored commit') as Uint8Array[]) {
      const m = openMessage<VoteBody>(u8(b), { trusted: true })
      view.commitVotes.push({ signer: toHex(m.signer), kind: m.body.type, height: m.body.height, round: m.body.round, value: toHex(m.body.value), source: `${source} batch ${r.height as number}` })
    }
    if (r.signatures != null) {
      for (const s of decodeCbor(u8(r.signatures), 1 << 20, 'stored signatures') as Array<{ validator: number }>) {
        view.finalizers.push({ index: s.validator, height: r.height, header })
      }
    }
  }
  view.evidence = (db.prepare('SELECT COUNT(*) AS n FROM committee_evidence').get() as any).n
  return view
}

export interface DecidedLease { order: string, tenant: string, provider: string, height: number }
export interface DecidedOutcomes {
  leases: Map<string, DecidedLease>
  expired: Map<string, { code: string, reason: string, height: number }>
  closed: Map<string, { by: string, reason: string, height: number }>
  height: number
}

/** replays a validator's final batches through the committee ledger: every lease, expiry and close it decided */
export function replayOutcomes (db: DatabaseSync, committeeJsonPath: string): DecidedOutcomes {
  const files = parseCommitteeFiles(readFileSync(committeeJsonPath, 'utf8'), committeeJsonPath)
  const ledger = new Ledger(files[0].info)
  const out: DecidedOutcomes = { leases: new Map(), expired: new Map(), closed: new Map(), height: 0 }
  if (!hasTable(db, 'committee_batches')) return out
  const item = db.prepare('SELECT bytes FROM committee_items WHERE id = ?')
  for (const r of db.prepare('SELECT height, proposal FROM committee_batches ORDER BY height').all() as any[]) {
    const v = batchValue(openMessage<ProposalBody>(u8(r.proposal), { trusted: true }))
    const items: SignedMessage[] = v.msg.body.items.map((id) => {
      const row = item.get(id) as any
      if (row == null) throw new Error(`store lacks item ${toHex(id)} of batch ${r.height as number}`)
      return openMessage(u8(row.bytes), { trusted: true })
    })
    const plan = ledger.plan(r.height, v.header.time, items)
    ledger.apply(plan, v.hash)
    for (const l of plan.leases) out.leases.set(toHex(l.order), { order: toHex(l.order), tenant: toHex(l.tenant), provider: toHex(l.provider), height: r.height })
    for (const e of plan.expired) out.expired.set(toHex(e.order), { code: e.code, reason: e.reason, height: r.height })
    for (const c of plan.closed) out.closed.set(toHex(c.order), { by: toHex(c.by), reason: c.reason, height: r.height })
    out.height = r.height
  }
  return out
}

/** a node's own records (tenant deployments, provider leases), as the node would read them back */
export function nodeRecords (db: DatabaseSync, kind: string): any[] {
  if (!hasTable(db, 'node_records')) return []
  return (db.prepare('SELECT data FROM node_records WHERE kind = ?').all(kind) as any[]).map((r) => JSON.parse(r.data))
}
