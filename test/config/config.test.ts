import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { loadConfig, resolveConfig, configTemplate, envName, ConfigError } from '../../src/config/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'souk-config-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

test('no file gives the defaults', async () => {
  const c = await loadConfig({ home: dir, env: {} })
  assert.equal(c.roles, ['tenant'])
  assert.is(c.provider.runtime, 'docker')
})

test('the file, then environment, then --set override each other in that order', async () => {
  writeFileSync(join(dir, 'souk.yaml'), 'roles: [provider]\nprovider:\n  publishHost: 10.0.0.1\n  attributes: { region: eu }\ntenant:\n  bidWindowMs: 500\n')
  const c = await loadConfig({
    home: dir,
    env: { SOUK_PROVIDER_PUBLISH_HOST: '127.0.0.2', SOUK_NETWORK_BOOTSTRAP: '/ip4/127.0.0.1/tcp/1/p2p/x, /ip4/127.0.0.1/tcp/2/p2p/y' },
    set: ['tenant.bidWindowMs=750', 'roles=provider,validator']
  })
  assert.equal(c.roles, ['provider', 'validator'])
  assert.is(c.provider.publishHost, '127.0.0.2')
  assert.equal(c.provider.attributes, { region: 'eu' })
  assert.equal(c.network.bootstrap, ['/ip4/127.0.0.1/tcp/1/p2p/x', '/ip4/127.0.0.1/tcp/2/p2p/y'])
  assert.is(c.tenant.bidWindowMs, 750)
})

test('DOCKER_HOST overrides souk.yaml, and SOUK_PROVIDER_DOCKER_HOST and --set override it', () => {
  const file = { roles: ['provider'], provider: { dockerHost: 'unix:///file.sock' } }
  assert.is(resolveConfig(file, { env: {} }).provider.dockerHost, 'unix:///file.sock')
  assert.is(resolveConfig(file, { env: { DOCKER_HOST: 'tcp://env:2375' } }).provider.dockerHost, 'tcp://env:2375')
  assert.is(resolveConfig(file, { env: { DOCKER_HOST: '' } }).provider.dockerHost, 'unix:///file.sock')
  assert.is(resolveConfig(file, { env: { DOCKER_HOST: 'tcp://env:2375', SOUK_PROVIDER_DOCKER_HOST: 'tcp://souk:2375' } }).provider.dockerHost, 'tcp://souk:2375')
  assert.is(resolveConfig(file, { env: { DOCKER_HOST: 'tcp://env:2375' }, set: ['provider.dockerHost=tcp://flag:2375'] }).provider.dockerHost, 'tcp://flag:2375')
})

test('a program\'s configuration takes DOCKER_HOST as the default and wins when it names an engine', () => {
  const before = process.env.DOCKER_HOST
  process.env.DOCKER_HOST = 'tcp://env:2375'
  try {
    assert.is(resolveConfig({ roles: ['provider'] }, { env: {}, embedded: true }).provider.dockerHost, 'tcp://env:2375')
    assert.is(resolveConfig({ roles: ['provider'], provider: { dockerHost: 'unix:///mine.sock' } }, { env: {}, embedded: true }).provider.dockerHost, 'unix:///mine.sock')
  } finally {
    if (before == null) delete process.env.DOCKER_HOST
    else process.env.DOCKER_HOST = before
  }
})

test('bad settings are all named by path', () => {
  try {
    resolveConfig({ roles: ['miner'], provider: { runtime: 'podman', cpu: -1, prices: { cpu: 'cheap' } }, tenant: { decisionTimeoutMs: 0 }, network: { relayCircuitDataLimit: -5 }, bogus: 1 }, { env: {} })
    assert.unreachable()
  } catch (err: any) {
    assert.instance(err, ConfigError)
    const paths = err.problems.map((p: any) => p.path).sort()
    assert.equal(paths, ['bogus', 'network.relayCircuitDataLimit', 'provider.cpu', 'provider.prices.cpu', 'provider.runtime', 'roles[0]', 'tenant.decisionTimeoutMs'])
    assert.match(err.message, /"miner" is not a role/)
  }
})

test('environment names follow the setting path', () => {
  assert.is(envName('provider.publishHost'), 'SOUK_PROVIDER_PUBLISH_HOST')
  assert.is(envName('api.metricsPort'), 'SOUK_API_METRICS_PORT')
})

test('the commented template for each role parses back to a valid config', () => {
  for (const roles of [['tenant'], ['provider'], ['validator'], ['tenant', 'provider', 'validator']] as const) {
    const text = configTemplate([...roles])
    assert.match(text, /^# souk node configuration/)
    const c = resolveConfig(parse(text), { env: {} })
    assert.equal(c.roles, [...roles])
  }
})

test.run()
