// The store under faults: crash points kill the process right after the named write commits (and
// that write survives), a damaged file is refused with a message naming it, and a full disk is a
// typed error that leaves nothing half-written.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, truncateSync, statSync, openSync, writeSync, closeSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { openStore, StoreError, parseCrashPoint } from '../../src/store/index.ts'

const root = new URL('../..', import.meta.url).pathname
const writer = join(root, 'test/store/fixtures/writer.ts')
const dir = mkdtempSync(join(tmpdir(), 'souk-store-'))
test.after(() => { rmSync(dir, { recursive: true, force: true }) })

const count = (path: string, kind: string): number => {
  const db = new DatabaseSync(path)
  try { return (db.prepare('SELECT COUNT(*) AS n FROM node_records WHERE kind = ?').get(kind) as any).n } finally { db.close() }
}

test('a crash point parses, and a bad one is a typed error naming the format', () => {
  assert.equal(parseCrashPoint('committee_signed/prevote'), { point: 'committee_signed/prevote', n: 1, delayMs: undefined })
  assert.equal(parseCrashPoint('node_records/provider-lease/deploying:2:+750'), { point: 'node_records/provider-lease/deploying', n: 2, delayMs: 750 })
  for (const bad of ['', 'x:0', 'Committee', 'a/b/c/d', 'x:1:250', 'x;rm']) {
    assert.throws(() => parseCrashPoint(bad), (e: unknown) => e instanceof StoreError && e.code === 'ERR_STORE_BAD_CRASH_POINT' && /table\[\/kind\[\/state\]\]/.test(e.message), bad)
  }
})

test('SOUK_CRASH_AT kills the process right after the n-th matching commit, before it goes on; the write survives', () => {
  const path = join(dir, 'crash.db')
  const r = spawnSync(process.execPath, [writer, path, '6', 'tenant-deployment'], { encoding: 'utf8', env: { ...process.env, SOUK_CRASH_AT: 'node_records/tenant-deployment/even:2' } })
  assert.is(r.signal, 'SIGKILL', r.stdout + r.stderr)
  // rows 2 and 4 are the "even" ones: killed after row 4 committed, before "sent 4"
  assert.is(r.stdout, 'sent 1\nsent 2\nsent 3\n')
  assert.match(r.stderr, /crash point reached: node_records\/tenant-deployment\/even:2 after writing node_records\/tenant-deployment\/even/)
  assert.is(count(path, 'tenant-deployment'), 4)
})

test('a point that matches nothing never fires; without the variables nothing is installed', () => {
  const path = join(dir, 'quiet.db')
  const r = spawnSync(process.execPath, [writer, path, '3', 'tenant-deployment'], { encoding: 'utf8', env: { ...process.env, SOUK_CRASH_AT: 'node_records/provider-lease' } })
  assert.is(r.status, 0, r.stderr)
  assert.match(r.stdout, /done/)
  const plain = spawnSync(process.execPath, [writer, join(dir, 'plain.db'), '2', 'x'], { encoding: 'utf8', env: { ...process.env, SOUK_CRASH_AT: '', SOUK_CRASH_FILE: '' } })
  assert.is(plain.status, 0, plain.stderr)
  const db = new DatabaseSync(join(dir, 'plain.db'))
  assert.is((db.prepare('SELECT COUNT(*) AS n FROM sqlite_temp_master').get() as any).n, 0, 'no triggers')
  db.close()
})

test('SOUK_CRASH_FILE arms a running process, with a delay after the write', () => {
  const path = join(dir, 'file.db')
  const file = join(dir, 'crash-point')
  writeFileSync(file, 'node_records/provider-lease/odd:2:+150')
  const r = spawnSync(process.execPath, [writer, path, '20', 'provider-lease'], { encoding: 'utf8', env: { ...process.env, SOUK_CRASH_FILE: file, WRITER_PAUSE_MS: '100' } })
  assert.is(r.signal, 'SIGKILL', r.stdout + r.stderr)
  // the second odd row is row 3; killed ~150 ms later, during the pause after row 4 or 5
  const sent = r.stdout.trim().split('\n').length
  assert.ok(sent >= 3 && sent <= 6, r.stdout)
  assert.match(r.stderr, /\(\+150 ms\)/)
  rmSync(file)
  const again = spawnSync(process.execPath, [writer, join(dir, 'file2.db'), '3', 'provider-lease'], { encoding: 'utf8', env: { ...process.env, SOUK_CRASH_FILE: file } })
  assert.is(again.status, 0, 'no file, no crash point')
})

/** a store with some rows, checkpointed into the main file */
function filled (name: string): string {
  const path = join(dir, name)
  const s = openStore({ path })
  s.migrate('t', [{ version: 1, up: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)' }])
  const ins = s.db.prepare('INSERT INTO t (v) VALUES (?)')
  s.transaction(() => { for (let i = 0; i < 2000; i++) ins.run(Buffer.alloc(200, i % 256)) })
  s.db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  s.close()
  return path
}

const damaged = (e: unknown, path: string): boolean => e instanceof StoreError && e.code === 'ERR_STORE_CORRUPT' && e.message.includes(path) && e.message.includes('docs/recovery.md')

test('a store that is not a database, is truncated, or has an overwritten page is refused with a message naming it', () => {
  const junk = join(dir, 'junk.db')
  writeFileSync(junk, Buffer.alloc(16384, 0x5a))
  assert.throws(() => openStore({ path: junk }), (e: unknown) => damaged(e, junk))

  const cut = filled('cut.db')
  truncateSync(cut, Math.floor(statSync(cut).size / 2))
  assert.throws(() => openStore({ path: cut }), (e: unknown) => damaged(e, cut))

  const flipped = filled('flipped.db')
  const fd = openSync(flipped, 'r+')
  // the middle of the table's b-tree: a page header overwritten
  writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 4096 * 20)
  closeSync(fd)
  assert.throws(() => openStore({ path: flipped }), (e: unknown) => damaged(e, flipped))

  // an intact one opens, and keeps its rows
  const ok = filled('ok.db')
  const s = openStore({ path: ok })
  assert.is((s.db.prepare('SELECT COUNT(*) AS n FROM t').get() as any).n, 2000)
  s.close()
})

test('a store emptied, deleted or swapped while its home stays is refused; both files gone is a fresh start', () => {
  const a = filled('a.db')
  const b = filled('b.db')
  // truncated to nothing: to SQLite a valid, empty database
  truncateSync(a, 0)
  rmSync(`${a}-wal`, { force: true })
  assert.throws(() => openStore({ path: a }), (e: unknown) => damaged(e, a) && /was emptied/.test((e as Error).message))
  rmSync(a)
  assert.throws(() => openStore({ path: a }), (e: unknown) => damaged(e, a) && /is missing/.test((e as Error).message))
  writeFileSync(a, readFileSync(b))
  assert.throws(() => openStore({ path: a }), (e: unknown) => damaged(e, a) && /was replaced by another store/.test((e as Error).message))
  rmSync(a)
  rmSync(`${a}.id`)
  const fresh = openStore({ path: a })
  fresh.close()
  const again = openStore({ path: a })
  again.close()
})

test('souk node start refuses a damaged store with one clear line, no stack trace', async () => {
  const home = join(dir, 'home')
  mkdirSync(home)
  const { generateIdentity, encodeKeyFile, writeSecretFile, keyFilePath } = await import('../../src/identity/index.ts')
  const { genesisCommitteeFile } = await import('../../src/committee/index.ts')
  const { committeeJson } = await import('../../src/node/genesis.ts')
  const id = generateIdentity()
  await writeSecretFile(keyFilePath(home), encodeKeyFile(id))
  writeFileSync(join(home, 'committee.json'), committeeJson([genesisCommitteeFile([id])]))
  writeFileSync(join(home, 'souk.yaml'), 'roles: [validator]\nnetwork:\n  listen: [/ip4/127.0.0.1/tcp/0]\n')
  writeFileSync(join(home, 'store.db'), Buffer.alloc(8192, 0x33))
  const r = spawnSync(process.execPath, [join(root, 'bin/souk'), '--home', home, 'node', 'start'], { encoding: 'utf8', timeout: 60_000 })
  assert.is(r.status, 1, r.stdout + r.stderr)
  assert.match(r.stderr, new RegExp(`error: the store ${join(home, 'store.db').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is damaged`))
  assert.match(r.stderr, /docs\/recovery\.md/)
  assert.not.match(r.stderr, /\n\s+at /)
  assert.is(readFileSync(join(home, 'store.db')).subarray(0, 16).toString('hex'), '33'.repeat(16), 'the damaged file is left as it was')
})

const canMount = process.getuid?.() === 0 && spawnSync('losetup', ['--version']).status === 0 && spawnSync('mkfs.ext4', ['-V']).status === 0

if (canMount) {
  test('a full disk: a typed error, nothing half-written, writes resume once there is room; too little room refuses the open', () => {
    const img = join(dir, 'small.img')
    const mnt = join(dir, 'mnt')
    mkdirSync(mnt)
    execFileSync('truncate', ['-s', '24M', img])
    execFileSync('mkfs.ext4', ['-q', img])
    execFileSync('mount', ['-o', 'loop', img, mnt])
    try {
      const path = join(mnt, 'store.db')
      const s = openStore({ path })
      s.migrate('t', [{ version: 1, up: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)' }])
      const ins = s.db.prepare('INSERT INTO t (v) VALUES (?)')
      s.transaction(() => { ins.run(Buffer.alloc(100)) })
      try { writeFileSync(join(mnt, 'filler'), Buffer.alloc(64 * 1024 * 1024)) } catch {}
      // a transaction of many rows: none of them may stay
      assert.throws(() => s.transaction(() => { for (let i = 0; i < 200; i++) ins.run(Buffer.alloc(4000)) }), (e: unknown) => e instanceof StoreError && e.code === 'ERR_STORE_DISK_FULL' && e.message.includes(path))
      assert.is((s.db.prepare('SELECT COUNT(*) AS n FROM t').get() as any).n, 1)
      rmSync(join(mnt, 'filler'))
      s.transaction(() => { ins.run(Buffer.alloc(4000)) })
      assert.is((s.db.prepare('SELECT COUNT(*) AS n FROM t').get() as any).n, 2)
      s.close()
      try { writeFileSync(join(mnt, 'filler'), Buffer.alloc(64 * 1024 * 1024)) } catch {}
      assert.throws(() => openStore({ path }), (e: unknown) => e instanceof StoreError && e.code === 'ERR_STORE_DISK_FULL' && /MiB free/.test(e.message))
    } finally {
      spawnSync('umount', [mnt])
    }
  })
} else {
  process.stdout.write('skipping the full-disk case: it needs root, losetup and mkfs.ext4 to mount a small file system\n')
  test.skip('a full disk', () => {})
}

test.run()
