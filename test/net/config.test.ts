import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { validateNetConfig, NetError, createSoukLibp2p } from '../../src/net/index.ts'

function pathOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err: any) {
    assert.instance(err, NetError)
    assert.is(err.code, 'ERR_NET_CONFIG')
    return err.path
  }
  assert.unreachable('no error')
}

test('bad config values are NetErrors naming their path', () => {
  assert.is(pathOf(() => { validateNetConfig({ bootstrap: ['/ip4/127.0.0.1/tcp/1'] }) }), 'net.bootstrap[0]')
  assert.is(pathOf(() => { validateNetConfig({ listen: ['/ip4/127.0.0.1/tcp/1', 'not an address'] }) }), 'net.listen[1]')
  assert.is(pathOf(() => { validateNetConfig({ gossip: { D: 0 } }) }), 'net.gossip.D')
  assert.is(pathOf(() => { validateNetConfig({ gossip: { topics: { '/souk/1/orders': {} } } }) }), 'net.gossip.topics["/souk/1/orders"]')
  assert.is(pathOf(() => { validateNetConfig({ gossip: { topics: { '/souk/1/orders': { tags: ['souk/order'], signerLimit: { perSecond: 0, burst: 1 } } } } }) }), 'net.gossip.topics["/souk/1/orders"].signerLimit.perSecond')
  assert.is(pathOf(() => { validateNetConfig({ relay: { reserveOn: ['/ip4/1.2.3.4/tcp/5'] } }) }), 'net.relay.reserveOn[0]')
  validateNetConfig({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'] })
})

test('createSoukLibp2p refuses a bad config before starting anything', async () => {
  try {
    await createSoukLibp2p({ minConnections: -1 })
    assert.unreachable('started')
  } catch (err: any) {
    assert.is(err.path, 'net.minConnections')
  }
})

test.run()
