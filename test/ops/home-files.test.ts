// The home lock (one daemon per home, stale locks taken over), the rotating log file, and the
// reload plan (what may change without a restart).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lockHome, HomeInUseError, explainOpenFailure } from '../../src/node/home-lock.ts'
import { rotatingFile } from '../../src/node/log-file.ts'
import { planReload } from '../../src/node/reload.ts'
import { resolveConfig } from '../../src/config/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'souk-home-files-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

test('a home held by a live process is refused, naming it; released, it can be taken', async () => {
  const sleeper = spawn('sleep', ['30'])
  try {
    const h = mkdtempSync(join(dir, 'held-'))
    const held = await lockHome(h, sleeper.pid!)
    try {
      await lockHome(h)
      assert.unreachable('took a held home')
    } catch (err: any) {
      assert.instance(err, HomeInUseError)
      assert.is(err.code, 'ERR_HOME_IN_USE')
      assert.is(err.pid, sleeper.pid)
      assert.match(err.message, /another souk daemon \(pid \d+\) holds .*; stop it with `souk --home .* node stop`/)
    }
    // a store that would not open is explained by the holder
    const explained: any = await explainOpenFailure(h, new Error('Database failed to open'))
    assert.instance(explained, HomeInUseError)
    await held.release()
    assert.not.ok(existsSync(join(h, 'daemon.lock')))
    const mine = await lockHome(h)
    await mine.release()
    assert.is(((await explainOpenFailure(h, new Error('Database failed to open'))) as Error).message, 'Database failed to open')
  } finally { sleeper.kill() }
})

test('a lock left by a process that is gone is taken over', async () => {
  const home = mkdtempSync(join(dir, 'stale-'))
  const gone = spawn('true')
  await new Promise((resolve) => gone.once('exit', resolve))
  writeFileSync(join(home, 'daemon.lock'), `${gone.pid}\n`)
  const lock = await lockHome(home)
  assert.is(readFileSync(join(home, 'daemon.lock'), 'utf8'), `${process.pid}\n`)
  await lock.release()
})

test('the log file rotates at its size and keeps the given number of old files', async () => {
  const path = join(dir, 'logs', 'node.log')
  const f = rotatingFile({ path, maxBytes: 1000, keep: 2 })
  const line = 'x'.repeat(99) + '\n'
  for (let i = 0; i < 45; i++) f.write(line)
  await new Promise<void>((resolve) => f.end(resolve))
  const files = readdirSync(join(dir, 'logs')).sort()
  assert.equal(files, ['node.log', 'node.log.1', 'node.log.2'])
  for (const name of files) assert.ok(readFileSync(join(dir, 'logs', name)).length <= 1000, name)
  assert.is(readFileSync(join(dir, 'logs', 'node.log.1')).length, 1000)
})

test('reload plan: prices, attributes and the log level may change; the rest names itself', () => {
  const a = resolveConfig({ roles: ['provider'], provider: { prices: { cpu: '1' }, attributes: { region: 'eu' } } }, { env: {} })
  const b = resolveConfig({ roles: ['provider'], log: { level: 'debug' }, network: { listen: ['/ip4/0.0.0.0/tcp/9999'] }, provider: { cpu: 4, prices: { cpu: '2' }, attributes: { region: 'us' } } }, { env: {} })
  const plan = planReload(a, b)
  assert.equal(plan.changed, ['log.level', 'network.listen', 'provider.attributes', 'provider.cpu', 'provider.prices'])
  assert.equal(plan.apply, ['log.level', 'provider.attributes', 'provider.prices'])
  assert.equal(plan.refused, ['network.listen', 'provider.cpu'])
  assert.equal(planReload(a, a).changed, [])
})

test.run()
