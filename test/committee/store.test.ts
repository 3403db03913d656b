import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore, StoreError } from '../../src/store/index.ts'
import { committeePersistence } from '../../src/committee/index.ts'

test('the store runs in WAL mode with synchronous=FULL and module migrations run once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'souk-store-'))
  try {
    const path = join(dir, 'node.sqlite')
    const s = openStore({ path })
    assert.is((s.db.prepare('PRAGMA journal_mode').get() as any).journal_mode, 'wal')
    assert.is((s.db.prepare('PRAGMA synchronous').get() as any).synchronous, 2) // FULL
    let runs = 0
    const migrations = [{ version: 1, up: 'CREATE TABLE market_orders (id BLOB PRIMARY KEY)' }, { version: 2, up: () => { runs++ } }]
    s.migrate('market', migrations)
    s.migrate('market', migrations)
    assert.is(runs, 1)
    assert.is(s.schemaVersion('market'), 2)
    committeePersistence(s)
    assert.is(s.schemaVersion('committee'), 1)
    s.close()
    // reopening keeps everything; a schema newer than the code is refused
    const again = openStore({ path })
    assert.is(again.schemaVersion('market'), 2)
    assert.throws(() => again.migrate('market', migrations.slice(0, 1)), (e: unknown) => e instanceof StoreError && /version 2; this program knows up to 1/.test(e.message))
    again.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a failed migration leaves nothing half done', () => {
  const s = openStore({ path: ':memory:' })
  assert.throws(() => s.migrate('x', [{ version: 1, up: 'CREATE TABLE a (x); CREATE TABLE a (y);' }]), /x migration 1 failed/)
  assert.is(s.schemaVersion('x'), 0)
  assert.is(s.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'a'").get()?.n, 0)
  s.close()
})

test('signed records are unique per (kind, height, round): a second signature cannot be recorded', () => {
  const s = openStore({ path: ':memory:' })
  const p = committeePersistence(s)
  const row = { kind: 'prevote' as const, height: 3, round: 0, value: new Uint8Array(32), bytes: new Uint8Array([1]) }
  p.recordSigned(row)
  assert.throws(() => p.recordSigned({ ...row, value: new Uint8Array(32).fill(1) }))
  assert.equal(p.signed('prevote', 3, 0)?.bytes, new Uint8Array([1]))
  s.close()
})

test('a decided batch\'s items are readable back, whether this node locked them, locked others, or none', () => {
  const s = openStore({ path: ':memory:' })
  const p = committeePersistence(s)
  const item = (n: number): { id: Uint8Array, bytes: Uint8Array } => ({ id: new Uint8Array(32).fill(n), bytes: new Uint8Array(40).fill(n) })
  const row = (height: number) => ({ height, hash: new Uint8Array(32).fill(height), proposal: new Uint8Array([height]), commit: [] })
  const vote = (height: number) => ({ kind: 'precommit' as const, height, round: 0, value: new Uint8Array(32), bytes: new Uint8Array([1]) })
  // locked and decided the same batch: written once, with the lock
  const a = [item(1), item(2)]
  p.recordSigned(vote(1), new Uint8Array([1]), a)
  p.saveBatch(row(1), a)
  // locked one proposal, decided another (the items differ)
  p.recordSigned(vote(2), new Uint8Array([2]), [item(3)])
  p.saveBatch(row(2), [item(4), item(5)])
  // decided a batch without locking anything at its height (caught up on others' precommits)
  p.saveBatch(row(3), [item(6)])
  for (const n of [1, 2, 3, 4, 5, 6]) assert.equal(p.item(new Uint8Array(32).fill(n)), new Uint8Array(40).fill(n), `item ${n}`)
  s.close()
})

test.run()
