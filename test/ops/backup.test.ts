// `souk node backup` without a daemon: what it copies, what it refuses, and that the store copy is
// a consistent snapshot even while another connection keeps writing (the running daemon's case).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync, mkdirSync, copyFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../src/store/index.ts'
import { createKey } from '../../src/identity/index.ts'
import { backupHome, backupStoppedHome } from '../../src/node/backup.ts'
import { acquireHome } from '../../src/node/home-guard.ts'
import { NodeError } from '../../src/node/errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'souk-backup-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

const home = join(dir, 'home')
let peerId = ''

test.before(async () => {
  mkdirSync(home, { recursive: true, mode: 0o700 })
  peerId = (await createKey(home)).peerId.toString()
  writeFileSync(join(home, 'souk.yaml'), 'roles: [provider]\n')
  writeFileSync(join(home, 'committee.json'), '[]\n')
  const s = openStore({ path: join(home, 'store.db') })
  s.db.exec('CREATE TABLE t (n INTEGER NOT NULL)')
  s.transaction(() => { for (let i = 0; i < 1000; i++) s.db.prepare('INSERT INTO t (n) VALUES (?)').run(i) })
  s.close()
})

test('a stopped home: key, settings, committee file and store with its ID; the copy opens as the same store', async () => {
  const to = join(dir, 'b1')
  const m = await backupStoppedHome({ home, peerId, roles: ['provider'], committeeFile: 'committee.json' }, to)
  assert.is(m.live, false)
  assert.is(m.peerId, peerId)
  assert.equal(readdirSync(to).sort(), ['backup.json', 'committee.json', 'key.json', 'souk.yaml', 'store.db', 'store.db.id'])
  assert.is(statSync(join(to, 'key.json')).mode & 0o777, 0o600)
  assert.is(statSync(to).mode & 0o777, 0o700)
  assert.equal(JSON.parse(readFileSync(join(to, 'backup.json'), 'utf8')).files.sort(), ['committee.json', 'key.json', 'souk.yaml', 'store.db', 'store.db.id'])
  // restored into a new home: the store opens (its ID marker agrees) with every row
  const restored = join(dir, 'restored')
  mkdirSync(restored, { mode: 0o700 })
  for (const f of readdirSync(to)) if (f !== 'backup.json') copyFileSync(join(to, f), join(restored, f))
  const s = openStore({ path: join(restored, 'store.db') })
  assert.is((s.db.prepare('SELECT count(*) AS c FROM t').get() as any).c, 1000)
  s.close()
})

test('a home a node holds is not copied as it lies; the running node copies it through its own daemon', async () => {
  const guard = await acquireHome(home)
  try {
    await backupStoppedHome({ home, peerId, roles: ['provider'], committeeFile: 'committee.json' }, join(dir, 'b2'))
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.code, 'ERR_HOME_IN_USE')
  } finally { await guard.release() }
})

test('refused: a directory inside the home, a relative one, one that already holds a backup', async () => {
  const src = { home, peerId, roles: ['provider'], committeeFile: 'committee.json', live: false }
  for (const [to, re] of [
    [join(home, 'backups'), /inside the node home/],
    ['relative/dir', /must be an absolute path/],
    [join(dir, 'b1'), /already holds a backup/]
  ] as Array<[string, RegExp]>) {
    try {
      await backupHome(src, to)
      assert.unreachable(to)
    } catch (err: any) {
      assert.instance(err, NodeError)
      assert.is(err.code, 'ERR_BACKUP_FAILED')
      assert.match(err.message, re)
    }
  }
})

test('a live copy while another connection writes is a consistent snapshot', async () => {
  const s = openStore({ path: join(home, 'store.db') })
  let writes = 0
  let writing = true
  const writer = (async () => {
    while (writing) {
      s.transaction(() => { for (let i = 0; i < 50; i++) s.db.prepare('INSERT INTO t (n) VALUES (?)').run(-1) })
      writes++
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  const to = join(dir, 'live')
  try {
    await backupHome({ home, peerId, roles: ['provider'], committeeFile: 'committee.json', live: true }, to)
  } finally {
    writing = false
    await writer
    s.close()
  }
  assert.ok(writes > 0)
  const copy = openStore({ path: join(to, 'store.db') })
  const n = (copy.db.prepare('SELECT count(*) AS c FROM t').get() as any).c as number
  copy.close()
  // whole transactions only: 1000 rows, plus 50 for each write the snapshot saw
  assert.is((n - 1000) % 50, 0, `a torn snapshot: ${n} rows`)
})

test.run()
