// listen defaults to a fixed port per role, so a node's address survives restarts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parse } from 'yaml'
import { resolveConfig, configTemplate } from '../../src/config/index.ts'

test('no listen setting: the role\'s fixed port on all interfaces', () => {
  assert.equal(resolveConfig({ roles: ['validator'] }, { env: {} }).network.listen, ['/ip4/0.0.0.0/tcp/4701'])
  assert.equal(resolveConfig({ roles: ['provider'] }, { env: {} }).network.listen, ['/ip4/0.0.0.0/tcp/4702'])
  assert.equal(resolveConfig({ roles: ['tenant'] }, { env: {} }).network.listen, ['/ip4/0.0.0.0/tcp/4703'])
  assert.equal(resolveConfig({ roles: ['tenant', 'provider'] }, { env: {} }).network.listen, ['/ip4/0.0.0.0/tcp/4702'])
})

test('a listen setting from the file, the environment or --set wins', () => {
  assert.equal(resolveConfig({ roles: ['provider'], network: { listen: ['/ip4/127.0.0.1/tcp/0'] } }, { env: {} }).network.listen, ['/ip4/127.0.0.1/tcp/0'])
  assert.equal(resolveConfig({ roles: ['provider'] }, { env: { SOUK_NETWORK_LISTEN: '/ip4/10.0.0.1/tcp/9000' } }).network.listen, ['/ip4/10.0.0.1/tcp/9000'])
  assert.equal(resolveConfig({ roles: ['provider'] }, { env: {}, set: ['network.listen=/ip4/127.0.0.1/tcp/5000'] }).network.listen, ['/ip4/127.0.0.1/tcp/5000'])
})

test('the generated souk.yaml writes the fixed port and the directPeers key', () => {
  const c = parse(configTemplate(['validator']))
  assert.equal(c.network.listen, ['/ip4/0.0.0.0/tcp/4701'])
  assert.equal(c.network.directPeers, [])
  assert.is(c.log.file, 'node.log')
})

test.run()
