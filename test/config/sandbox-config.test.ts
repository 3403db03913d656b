// provider.sandbox in souk.yaml: checked with the path of a bad value, and turned into what the runtimes take.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parse } from 'yaml'
import { resolveConfig, configTemplate, dockerSandboxInit, acceptsUnenforcedStorage } from '../../src/config/index.ts'

test('the provider sandbox settings are checked, with the path of a bad one', () => {
  const c = resolveConfig({ provider: { sandbox: { ociRuntime: 'runsc', allowNetworks: ['10.1.0.0/16'], unenforcedStorage: 'decline' } } }, {})
  assert.is(c.provider.sandbox.ociRuntime, 'runsc')
  assert.equal(c.provider.sandbox.allowNetworks, ['10.1.0.0/16'])
  assert.is(c.provider.sandbox.firewall, 'iptables')
  for (const [value, path] of [
    [{ ociRuntime: 'kata' }, 'provider.sandbox.ociRuntime'],
    [{ firewall: 'nftables' }, 'provider.sandbox.firewall'],
    [{ allowNetworks: ['10.1.0.0/33'] }, 'provider.sandbox.allowNetworks[0]'],
    [{ unenforcedStorage: 'maybe' }, 'provider.sandbox.unenforcedStorage'],
    [{ volumeStore: 'relative/dir' }, 'provider.sandbox.volumeStore'],
    [{ privileged: true }, 'provider.sandbox.privileged']
  ] as const) {
    try {
      resolveConfig({ provider: { sandbox: value } }, {})
      assert.unreachable(`${path} accepted`)
    } catch (err: any) {
      assert.ok(String(err.message).includes(path), `${path}: ${String(err.message)}`)
    }
  }
  // through the environment, as every setting
  assert.is(resolveConfig(undefined, { env: { SOUK_PROVIDER_SANDBOX_OCI_RUNTIME: 'runsc' } }).provider.sandbox.ociRuntime, 'runsc')
})

test('the runtime gets the sandbox settings; unenforced storage is accepted on a test network only, unless the operator says', () => {
  const c = resolveConfig({ provider: { sandbox: { ociRuntime: 'runsc', blockNetworks: ['203.0.113.0/24'], volumeStore: '/srv/souk/volumes' } } }, {})
  assert.equal(dockerSandboxInit(c, '/home/p'), { ociRuntime: 'runsc', firewall: 'iptables', allowNetworks: [], blockNetworks: ['203.0.113.0/24'], allowRegistries: [], volumeStore: '/srv/souk/volumes' })
  assert.is(acceptsUnenforcedStorage(c), false)
  assert.is(acceptsUnenforcedStorage(resolveConfig({ network: { testNetwork: true } }, {})), true)
  assert.is(acceptsUnenforcedStorage(resolveConfig({ network: { testNetwork: true }, provider: { sandbox: { unenforcedStorage: 'decline' } } }, {})), false)
  assert.is(acceptsUnenforcedStorage(resolveConfig({ provider: { sandbox: { unenforcedStorage: 'accept' } } }, {})), true)
})

test('the template written by souk node init holds the sandbox settings, and loads', () => {
  const text = configTemplate(['provider'])
  const c = resolveConfig(parse(text), {})
  assert.is(c.provider.sandbox.ociRuntime, 'runc')
  assert.match(text, /unenforcedStorage: auto/)
})

test.run()
