// A wrong bootstrap port or peer ID must not fail silently: the node says which address failed
// and why, and connects once the address is right.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:net'
import { createSoukLibp2p, explainDialError } from '../../src/net/index.ts'
import type { SoukNode } from '../../src/net/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { waitFor } from './helpers.ts'

const nodes: SoukNode[] = []
test.after(async () => { for (const n of nodes) await n.stop().catch(() => {}) })

async function start (bootstrap: string[] = []): Promise<SoukNode> {
  const n = await createSoukLibp2p({ listen: ['/ip4/127.0.0.1/tcp/0'], testNetwork: true, bootstrap, autonat: false, dcutr: false })
  nodes.push(n)
  return n
}

async function closedPort (): Promise<number> {
  return await new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as any).port; s.close(() => resolve(p)) }) })
}

test('a bootstrap port where nothing listens: refused, naming the address and port', async () => {
  const port = await closedPort()
  const addr = `/ip4/127.0.0.1/tcp/${port}/p2p/${generateIdentity().peerId.toString()}`
  const n = await start([addr])
  assert.ok(await waitFor(() => n.bootstrap.status()[0].state === 'failed', 15_000), JSON.stringify(n.bootstrap.status()))
  const s = n.bootstrap.status()[0]
  assert.is(s.address, addr)
  assert.is(s.reason, 'refused')
  assert.match(s.message!, new RegExp(`127\\.0\\.0\\.1 port ${port}`))
  assert.match(s.message!, /nothing listens/)
})

test('the right port with the wrong peer ID: names the peer ID that answered', async () => {
  const real = await start()
  const port = real.multiaddrs()[0].split('/')[4]
  const wrongId = generateIdentity().peerId.toString()
  const addr = `/ip4/127.0.0.1/tcp/${port}/p2p/${wrongId}`
  const n = await start([addr])
  const changes: string[] = []
  n.bootstrap.onChange((s) => changes.push(s.state))
  assert.ok(await waitFor(() => n.bootstrap.status()[0].state === 'failed', 15_000), JSON.stringify(n.bootstrap.status()))
  const s = n.bootstrap.status()[0]
  assert.is(s.reason, 'wrong-peer-id')
  assert.is(s.actualPeerId, real.peerId.toString())
  assert.match(s.message!, new RegExp(`has peer ID ${real.peerId.toString()}, not ${wrongId}`))
})

test('a correct bootstrap address is reported reached', async () => {
  const real = await start()
  const n = await start([real.multiaddrs()[0]])
  assert.ok(await waitFor(() => n.bootstrap.status()[0].state === 'connected', 15_000), JSON.stringify(n.bootstrap.status()))
  assert.is(n.bootstrap.status()[0].message, undefined)
})

test('dial errors read as reasons', () => {
  const a = '/ip4/10.0.0.9/tcp/4701/p2p/12D3KooWxyz'
  assert.is(explainDialError(Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' }), a, 'x').reason, 'timeout')
  assert.is(explainDialError(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), a, 'x').reason, 'unresolved')
  assert.is(explainDialError(Object.assign(new Error('Missing newline'), { name: 'EncryptionFailedError' }), a, 'x').reason, 'not-libp2p')
  assert.match(explainDialError(new Error('connect EHOSTUNREACH 10.0.0.9:4701'), a, 'x').message, /no route to 10\.0\.0\.9 port 4701/)
})

test('the time protocol: a peer\'s clock offset, within the round trip', async () => {
  const a = await start()
  const b = await start([a.multiaddrs()[0]])
  assert.ok(await waitFor(() => b.libp2p.getPeers().length > 0, 15_000))
  const o = await b.clockOffset(a.peerId)
  // both clocks are this machine's: the offset is within half the round trip (plus rounding)
  assert.ok(Math.abs(o.offsetMs) <= o.rttMs / 2 + 1, JSON.stringify(o))
})

test.run()
