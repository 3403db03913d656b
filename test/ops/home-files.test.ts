// The home lock (one node per home, the holder named), the rotating log file, and the
// reload plan (what may change without a restart).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir, hostname } from 'node:os'
import { join } from 'node:path'
import { acquireHome, HOME_LOCK_FILE } from '../../src/node/home-guard.ts'
import { HomeInUseError } from '../../src/node/errors.ts'
import { rotatingFile } from '../../src/node/log-file.ts'
import { planReload, configPathOf } from '../../src/node/reload.ts'
import { resolveConfig, ConfigError } from '../../src/config/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'souk-home-files-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

test('a home held by a live process is refused, naming it and how to stop it; released, it can be taken', async () => {
  const sleeper = spawn('sleep', ['30'])
  try {
    const h = mkdtempSync(join(dir, 'held-'))
    writeFileSync(join(h, HOME_LOCK_FILE), JSON.stringify({ pid: sleeper.pid, host: hostname(), token: 'other', startedAt: Date.now() }))
    try {
      await acquireHome(h)
      assert.unreachable('took a held home')
    } catch (err: any) {
      assert.instance(err, HomeInUseError)
      assert.is(err.code, 'ERR_HOME_IN_USE')
      assert.is(err.pid, sleeper.pid)
      assert.match(err.message, /another souk node \(pid \d+\) holds .*; stop it with `souk --home .* node stop`/)
    }
    rmSync(join(h, HOME_LOCK_FILE))
    const mine = await acquireHome(h)
    assert.is(JSON.parse(readFileSync(join(h, HOME_LOCK_FILE), 'utf8')).pid, process.pid)
    await mine.release()
    assert.not.ok(existsSync(join(h, HOME_LOCK_FILE)))
  } finally { sleeper.kill() }
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

test('a bid engine refusal names the souk.yaml setting it came from', () => {
  assert.is(configPathOf('pricing.cpu'), 'provider.prices.cpu')
  assert.is(configPathOf('pricing.storage.ephemeral'), 'provider.prices.storage')
  assert.is(configPathOf('pricing.gpu.*'), 'provider.prices.gpu')
  assert.is(configPathOf('pricing.denom'), 'provider.denom')
  assert.is(configPathOf('pricing.script.command'), 'provider.pricingScript')
  assert.is(configPathOf('attributes.region'), 'provider.attributes.region')
  assert.is(configPathOf(undefined), 'provider.prices')
})

test('a price for a resource that does not exist is refused by name, not priced at nothing', () => {
  try {
    resolveConfig({ roles: ['provider'], provider: { prices: { cpuu: '4' } } }, { env: {} })
    assert.unreachable()
  } catch (err: any) {
    assert.instance(err, ConfigError)
    assert.equal(err.problems.map((p: any) => p.path), ['provider.prices.cpuu'])
    assert.match(err.message, 'is not a priced resource (cpu, memory, storage, gpu, endpoint)')
  }
})

test.run()
