// The library's front door without a container engine: a partial configuration merged and
// checked, one node a home, readiness that names what is missing, typed node events.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs'
import { spawn, spawnSync } from 'node:child_process'
import { tmpdir, hostname } from 'node:os'
import { join } from 'node:path'
import { createNode } from '../../src/node/create-node.ts'
import type { Souk } from '../../src/node/create-node.ts'
import { ConfigError, defaultConfig, resolveConfig } from '../../src/config/index.ts'
import { mergeConfig } from '../../src/node/config-merge.ts'
import { NodeError, DeployError, DeployErrorCode } from '../../src/node/errors.ts'
import { HOME_LOCK_FILE } from '../../src/node/home-guard.ts'
import { genesisCommitteeFile } from '../../src/committee/index.ts'
import { committeeJson } from '../../src/node/genesis.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { nodeVersionProblem, assertNodeVersion } from '../../src/node/engine-check.ts'

const dirs: string[] = []
const committee = committeeJson([genesisCommitteeFile([generateIdentity()])])
function home (): string {
  const d = mkdtempSync(join(tmpdir(), 'souk-lib-'))
  dirs.push(d)
  writeFileSync(join(d, 'committee.json'), committee)
  return d
}
test.after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

const sdl = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')

test('a partial configuration is laid over the defaults', async () => {
  const node = await createNode({ home: home(), config: { roles: ['tenant'], network: { testNetwork: true } } })
  try {
    assert.equal(node.config.roles, ['tenant'])
    assert.is(node.config.network.testNetwork, true)
    // the rest of the network map is the defaults' (deep merge, not a replaced map)
    assert.equal(node.config.network.listen, ['/ip4/127.0.0.1/tcp/0'])
    assert.is(node.config.network.mdns, false)
    assert.is(node.config.log.level, 'info')
    assert.is(node.config.tenant.bidWindowMs, 2000)
    assert.ok(node.tenant != null)
    assert.is(node.provider, undefined)
  } finally { await node.stop() }
})

test('a whole SoukConfig comes back unchanged: the defaults, and one with every capacity set in millicpu and bytes', () => {
  assert.equal(mergeConfig(defaultConfig()), defaultConfig())
  const full = defaultConfig()
  full.roles = ['provider', 'tenant']
  full.network.listen = ['/ip4/127.0.0.1/tcp/4001']
  full.provider.cpu = 2500
  full.provider.memory = 3 * 1024 ** 3
  full.provider.storage = 10 * 1000 ** 3
  full.provider.prices = { cpu: '2', memory: '1', storage: '0.1', gpu: '100', endpoint: '0' }
  full.log.maxBytes = 128 * 1024
  full.tenant.bidWindowMs = 500
  assert.equal(mergeConfig(structuredClone(full)), full)
})

test('an embedded node: numbers are millicpu and bytes, strings read as in souk.yaml, and it listens on a free loopback port', () => {
  const c = mergeConfig({ roles: ['provider'], provider: { cpu: 1500, memory: 512 * 1024 ** 2 } })
  assert.is(c.provider.cpu, 1500)
  assert.is(c.provider.memory, 512 * 1024 ** 2)
  assert.is(mergeConfig({ provider: { cpu: '2' as any } }).provider.cpu, 2000)
  // souk.yaml would read the same numbers as CPUs, and give a provider its fixed port
  assert.throws(() => resolveConfig({ roles: ['provider'], provider: { cpu: 1500 } }, { env: {} }), /1500 would be 1500 CPUs/)
  assert.equal(c.network.listen, ['/ip4/127.0.0.1/tcp/0'])
  assert.not.equal(resolveConfig({ roles: ['provider'] }, { env: {} }).network.listen, ['/ip4/127.0.0.1/tcp/0'])
})

test('an embedded capacity is checked like any other setting', () => {
  for (const [config, path] of [
    [{ provider: { cpu: -1 } }, 'provider.cpu'],
    [{ provider: { memory: 1.5 } }, 'provider.memory'],
    [{ log: { maxBytes: 1000 } }, 'log.maxBytes']
  ] as const) {
    try {
      mergeConfig(config as any)
      assert.unreachable(`accepted ${JSON.stringify(config)}`)
    } catch (err) {
      assert.instance(err, ConfigError)
      assert.equal((err as ConfigError).problems.map((p) => p.path), [path], (err as Error).message)
    }
  }
})

test('a misspelt role or setting is a ConfigError naming its path, and nothing is left in the home', async () => {
  const h = home()
  for (const [config, path] of [
    [{ roles: ['tennant'] }, 'roles[0]'],
    [{ network: { bootstrapp: [] } }, 'network.bootstrapp'],
    [{ tenant: { bidWindowMs: -1 } }, 'tenant.bidWindowMs']
  ] as const) {
    try {
      await createNode({ home: h, config: config as any })
      assert.unreachable('started with a wrong configuration')
    } catch (err) {
      assert.instance(err, ConfigError)
      assert.ok((err as ConfigError).problems.some((p) => p.path === path), (err as Error).message)
      assert.ok((err as Error).message.includes(`${path}:`), (err as Error).message)
    }
  }
  assert.not.ok(existsSync(join(h, HOME_LOCK_FILE)))
  assert.not.ok(existsSync(join(h, 'store.db')))
})

test('a home in use is ERR_HOME_IN_USE; stop gives it back', async () => {
  const h = home()
  const a = await createNode({ home: h, config: { roles: ['tenant'] } })
  try {
    await createNode({ home: h, config: { roles: ['tenant'] } }).then(async (b) => { await b.stop(); assert.unreachable('two nodes on one home') }, (err) => {
      assert.instance(err, NodeError)
      assert.is(err.code, 'ERR_HOME_IN_USE')
      assert.match(err.message, h)
    })
  } finally { await a.stop() }
  assert.not.ok(existsSync(join(h, HOME_LOCK_FILE)))
  const again = await createNode({ home: h, config: { roles: ['tenant'] } })
  await again.stop()
})

test('a home held by another live process is refused; one left by a dead process is taken over', async () => {
  const h = home()
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
  try {
    writeFileSync(join(h, HOME_LOCK_FILE), JSON.stringify({ pid: sleeper.pid, host: hostname(), token: 'other', startedAt: Date.now() }))
    await createNode({ home: h, config: { roles: ['tenant'] } }).then(async (n) => { await n.stop(); assert.unreachable('took a live lock') }, (err) => {
      assert.is(err.code, 'ERR_HOME_IN_USE')
      assert.match(err.message, `pid ${sleeper.pid}`)
    })
  } finally { sleeper.kill('SIGKILL') }
  await new Promise((resolve) => sleeper.once('exit', resolve))
  // the sleeper is gone now: its lock is stale
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout
  writeFileSync(join(h, HOME_LOCK_FILE), JSON.stringify({ pid: Number(dead), host: hostname(), token: 'gone', startedAt: 1 }))
  const node = await createNode({ home: h, config: { roles: ['tenant'] } })
  assert.is(JSON.parse(readFileSync(join(h, HOME_LOCK_FILE), 'utf8')).pid, process.pid)
  await node.stop()
})

test('ready() names what is missing, and an abort rejects with the signal reason', async () => {
  const node = await createNode({ home: home(), config: { roles: ['tenant'], network: { testNetwork: true } } })
  try {
    assert.equal(node.missing(), ['no peer is subscribed to the orders topic (/souk/1/orders) yet'])
    try {
      await node.ready({ timeoutMs: 300 })
      assert.unreachable('ready alone')
    } catch (err) {
      assert.instance(err, NodeError)
      assert.is((err as NodeError).code, 'ERR_NOT_READY')
      assert.equal((err as NodeError).missing, node.missing())
      assert.match((err as Error).message, /orders topic/)
    }
    const reason = new Error('caller gave up')
    const ac = new AbortController()
    setTimeout(() => { ac.abort(reason) }, 50)
    const err = await node.ready({ signal: ac.signal }).catch((e) => e)
    assert.is(err, reason)
  } finally { await node.stop() }
  const err = await node.ready().catch((e) => e)
  assert.is(err.code, 'ERR_NODE_STOPPED')
})

test('two nodes: ready() resolves once a peer subscribes, and market events reach listeners, typed', async () => {
  const a = await createNode({ home: home(), config: { roles: ['tenant'], network: { testNetwork: true } } })
  let b: Souk | undefined
  try {
    b = await createNode({ home: home(), config: { roles: ['tenant'], network: { testNetwork: true, bootstrap: [a.net.multiaddrs()[0]] } } })
    await b.ready({ timeoutMs: 20_000 })
    await a.ready({ timeoutMs: 20_000 })
    assert.equal(b.missing(), [])
    const seen = new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error('the order never reached the other node')) }, 60_000)
      a.addEventListener('order:received', (evt) => { clearTimeout(t); resolve(evt.detail.idHex) }, { once: true })
    })
    const ac = new AbortController()
    const deploying = b.tenant!.deploy(sdl, { signal: ac.signal, onProgress: (e) => { if (e.type === 'deploy:order-published') ac.abort(new Error('enough')) } }).catch((e) => e)
    const id = await seen
    assert.match(id, /^[0-9a-f]{64}$/)
    const err = await deploying
    assert.is(err.message, 'enough')
    assert.is(b.tenant!.list()[0].order, id)
  } finally {
    await b?.stop()
    await a.stop()
  }
})

test('error codes are members of their unions; a provider\'s own code is kept apart', () => {
  const e = new DeployError(DeployErrorCode.NO_LEASE, 'x')
  assert.is(e.code, 'ERR_NO_LEASE')
  const r = new DeployError('unknown-lease', 'the provider does not know it')
  assert.is(r.code, 'ERR_PROVIDER_REFUSED')
  assert.is(r.providerCode, 'unknown-lease')
})

test('an old Node.js is told what to do', () => {
  assert.is(nodeVersionProblem('24.0.0'), undefined)
  assert.match(nodeVersionProblem('20.19.1') ?? '', /needs Node.js 24.*this is Node.js 20.19.1.*nvm install 24.*node@24/)
  try { assertNodeVersion('22.3.0'); assert.unreachable() } catch (err: any) { assert.is(err.code, 'ERR_NODE_VERSION') }
})

test.run()
