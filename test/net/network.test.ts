// Persistence, discovery and catch-up: a restarted node keeps its peer ID and finds the network
// from its own peer store; providers are found through the DHT from one bootstrap address; a
// joining node pulls the open orders it missed and validates each like gossip.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeCbor, signMessage, MessageTag, toHex } from '../../src/wire/index.ts'
import type { SignedMessage, CloseBody } from '../../src/wire/index.ts'
import { randomBytes } from 'node:crypto'
import { createSoukLibp2p, roleCid, Topic, Role } from '../../src/net/index.ts'
import type { SoukNode } from '../../src/net/index.ts'
import { loopbackConfig, orderBody, signOrder, startNode, stopAll, waitFor } from './helpers.ts'

/** how many peers the node's DHT routing table holds (not part of the KadDHT interface) */
const routingTableSize = (n: SoukNode): number => (n.libp2p.services.dht as unknown as { routingTable: { size: number } }).routingTable.size

test('a node restarted with the same data dir keeps its peer ID and finds the network again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'souk-net-'))
  const nodes: Array<SoukNode | undefined> = []
  try {
    const hub = await startNode()
    nodes.push(hub)
    const first = await createSoukLibp2p(loopbackConfig({ dataDir: dir, bootstrap: [hub.multiaddrs()[0]], minConnections: 1 }))
    nodes.push(first)
    assert.ok(await waitFor(() => first.libp2p.getPeers().some((p) => p.equals(hub.peerId)), 10_000), 'bootstrapped')
    const id = first.peerId.toString()
    await first.stop()
    // no bootstrap list this time: the persisted peer store must be enough
    const again = await createSoukLibp2p(loopbackConfig({ dataDir: dir, minConnections: 1 }))
    nodes.push(again)
    assert.is(again.peerId.toString(), id, 'same peer ID from the data dir')
    assert.ok(await waitFor(() => again.libp2p.getPeers().some((p) => p.equals(hub.peerId)), 15_000), 'reconnected to the hub from the peer store')
    const known = await again.libp2p.peerStore.get(hub.peerId)
    assert.ok(known.addresses.length > 0)
  } finally {
    await stopAll(nodes)
    await rm(dir, { recursive: true, force: true })
  }
})

test('role CIDs are fixed by the role name', () => {
  assert.is(roleCid('provider').toString(), roleCid('provider').toString())
  assert.is.not(roleCid('provider').toString(), roleCid('validator').toString())
  assert.throws(() => roleCid('Bad Role'))
})

test('a new node with one bootstrap address finds providers and validators through the DHT', async () => {
  const nodes: SoukNode[] = []
  try {
    const boot = await startNode()
    nodes.push(boot)
    const bootAddr = boot.multiaddrs()[0]
    const providers: SoukNode[] = []
    for (let i = 0; i < 2; i++) {
      const p = await startNode({ bootstrap: [bootAddr], minConnections: 1 })
      nodes.push(p)
      providers.push(p)
    }
    const validator = await startNode({ bootstrap: [bootAddr], minConnections: 1 })
    nodes.push(validator)
    const others = [...providers, validator]
    assert.ok(await waitFor(() => others.every((n) => n.libp2p.getPeers().length > 0), 10_000))
    // wait until the bootstrap node's DHT routing table knows them
    assert.ok(await waitFor(async () => routingTableSize(boot) >= 3, 10_000), 'routing table filled')
    for (const p of providers) await p.provideRole(Role.PROVIDER, { signal: AbortSignal.timeout(10_000) })
    await validator.provideRole(Role.VALIDATOR, { signal: AbortSignal.timeout(10_000) })

    const joiner = await startNode({ bootstrap: [bootAddr], minConnections: 1 })
    nodes.push(joiner)
    assert.ok(await waitFor(async () => routingTableSize(joiner) > 0, 10_000))
    let found: string[] = []
    for (let i = 0; i < 20 && found.length < 2; i++) {
      found = (await joiner.findRole(Role.PROVIDER, { signal: AbortSignal.timeout(5_000) })).map((p) => p.id.toString())
    }
    assert.equal(found.sort(), providers.map((p) => p.peerId.toString()).sort())
    const vals = await joiner.findRole(Role.VALIDATOR, { signal: AbortSignal.timeout(5_000) })
    assert.equal(vals.map((p) => p.id.toString()), [validator.peerId.toString()])
    // and it can reach what it found
    await joiner.dial(vals[0].id)
  } finally {
    await stopAll(nodes)
  }
})

test('a joining node pulls the open orders it missed and validates each like gossip', async () => {
  const nodes: SoukNode[] = []
  try {
    const tenant = await startNode()
    nodes.push(tenant)
    const open = [signOrder(tenant.identity), signOrder(tenant.identity), signOrder(tenant.identity)]
    const forged = (() => { const o = signOrder(tenant.identity); const s = new Uint8Array(o.sig); s[1] ^= 1; return encodeCbor([o.payload, o.signer, s]) })()
    const stale = signOrder(tenant.identity, { createdAt: Date.now() - 30 * 60_000 }).bytes
    const server = await startNode({ openOrders: () => [...open.map((o) => o.bytes), forged, stale] })
    nodes.push(server)
    const joiner = await startNode()
    nodes.push(joiner)
    const got: SignedMessage[] = []
    joiner.gossip.onMessage(Topic.ORDERS, (m) => { got.push(m) })
    await joiner.dial(server.multiaddrs()[0])
    const r = await joiner.syncOrders(server.peerId)
    assert.equal(r, { received: 5, accepted: 3, ignored: 1, rejected: 1 })
    assert.equal(got.map((m) => m.idHex).sort(), open.map((o) => o.idHex).sort())
    // a second sync delivers nothing new: the replay window remembers
    const again = await joiner.syncOrders(server.peerId)
    assert.is(again.accepted, 0)
    assert.is(got.length, 3)
    // a peer may ask three times at once, then once every 30 s: the fourth answer is refused
    await joiner.syncOrders(server.peerId)
    const fourth = await joiner.syncOrders(server.peerId).then(() => 'answered', (err: any) => String(err?.message ?? err))
    assert.not.equal(fourth, 'answered', 'a fourth sync request in a row was answered')
  } finally {
    await stopAll(nodes)
  }
})

test('a sync answer carries an order larger than a sync request may be', async () => {
  const nodes: SoukNode[] = []
  try {
    const tenant = await startNode()
    nodes.push(tenant)
    // two groups, each with as many and as long attributes as an order may hold: about 24 KiB
    const body = orderBody()
    const attributes: Record<string, string> = {}
    for (let i = 0; i < 32; i++) attributes[`k${String(i).padStart(2, '0')}`.padEnd(128, 'x')] = 'v'.repeat(256)
    body.groups = [{ ...body.groups[0], attributes }, { ...body.groups[0], name: 'api', attributes }]
    const big = signMessage(tenant.identity, MessageTag.ORDER, body)
    assert.ok(big.bytes.length > 20 * 1024, `the order is ${big.bytes.length} bytes`)
    const server = await startNode({ openOrders: () => [big.bytes] })
    nodes.push(server)
    const joiner = await startNode()
    nodes.push(joiner)
    await joiner.dial(server.multiaddrs()[0])
    assert.equal(await joiner.syncOrders(server.peerId), { received: 1, accepted: 1, ignored: 0, rejected: 0 })
  } finally {
    await stopAll(nodes)
  }
})

test('a node asks a peer for the Closes of its leases: only verified ones for leases it asked about come back', async () => {
  const nodes: SoukNode[] = []
  try {
    const tenant = await startNode()
    nodes.push(tenant)
    const leases = [randomBytes(32), randomBytes(32), randomBytes(32)]
    const close = (lease: Uint8Array, reason: string): SignedMessage<CloseBody> => signMessage<CloseBody>(tenant.identity, MessageTag.CLOSE, { lease, reason })
    const closed = close(leases[0], 'done')
    // a forged signature, a second Close of the same lease, one for a lease not asked about, an order
    const forged = (() => { const c = close(leases[1], 'forged'); const s = new Uint8Array(c.sig); s[1] ^= 1; return encodeCbor([c.payload, c.signer, s]) })()
    const second = close(leases[0], 'again').bytes
    const unasked = close(randomBytes(32), 'other').bytes
    const asked: string[][] = []
    const server = await startNode({
      openOrders: () => [],
      closes: (ids) => { asked.push(ids); return [closed.bytes, forged, second, unasked, signOrder(tenant.identity).bytes] }
    })
    nodes.push(server)
    const provider = await startNode()
    nodes.push(provider)
    await provider.dial(server.multiaddrs()[0])
    const r = await provider.syncCloses(server.peerId, leases)
    assert.equal(asked, [leases.map((l) => toHex(l))], 'the server is asked about the leases, once each')
    assert.equal(r.closes.map((c) => [toHex(c.body.lease), c.body.reason]), [[toHex(leases[0]), 'done']])
    // the server sends at most one frame per lease asked about: the order never came
    assert.is(r.dropped, 2)
    // a node without closes to offer answers with none
    const quiet = await startNode({ openOrders: () => [] })
    nodes.push(quiet)
    await provider.dial(quiet.multiaddrs()[0])
    assert.equal(await provider.syncCloses(quiet.peerId, leases), { closes: [], dropped: 0 })
  } finally {
    await stopAll(nodes)
  }
})

test('a peer that used up its orders requests still gets its Closes, within a budget of their own', async () => {
  const nodes: SoukNode[] = []
  try {
    const tenant = await startNode()
    nodes.push(tenant)
    const lease = randomBytes(32)
    const closed = signMessage<CloseBody>(tenant.identity, MessageTag.CLOSE, { lease, reason: 'done' })
    const server = await startNode({ openOrders: () => [], closes: () => [closed.bytes] })
    nodes.push(server)
    const provider = await startNode()
    nodes.push(provider)
    await provider.dial(server.multiaddrs()[0])
    // a provider restarting a few times in a minute: its orders requests run out first
    for (let i = 0; i < 3; i++) await provider.syncOrders(server.peerId)
    const fourth = await provider.syncOrders(server.peerId).then(() => 'answered', (err: unknown) => String(err))
    assert.not.equal(fourth, 'answered', 'the orders budget is spent')
    for (let i = 0; i < 6; i++) {
      const r = await provider.syncCloses(server.peerId, [lease])
      assert.equal(r.closes.map((c) => c.body.reason), ['done'], `closes request ${i + 1} is answered`)
    }
    // and the Closes budget is bounded too: a peer asking without pause is refused
    const seventh = await provider.syncCloses(server.peerId, [lease]).then(() => 'answered', (err: unknown) => String(err))
    assert.not.equal(seventh, 'answered', 'closes requests past the burst are refused')
  } finally {
    await stopAll(nodes)
  }
})

test('a sync answer is read at a bounded pace and with each signer\'s rate limit', async () => {
  const nodes: SoukNode[] = []
  try {
    const tenant = await startNode()
    nodes.push(tenant)
    // 120 open orders of one tenant: its limit is 50 at once, 10 a second
    const open = Array.from({ length: 120 }, () => signOrder(tenant.identity))
    const server = await startNode({ openOrders: () => open.map((o) => o.bytes) })
    const joiner = await startNode()
    nodes.push(server, joiner)
    await joiner.dial(server.multiaddrs()[0])
    const started = Date.now()
    const r = await joiner.syncOrders(server.peerId, { ingestLimit: { perSecond: 100, burst: 20 } })
    const seconds = (Date.now() - started) / 1000
    assert.is(r.received, 120)
    assert.ok(r.accepted >= 50 && r.accepted <= 50 + 10 * seconds + 1, `${r.accepted} of one signer's 120 orders in ${seconds.toFixed(1)} s`)
    assert.is(r.rejected, 0)
    assert.is(r.ignored, 120 - r.accepted)
  } finally {
    await stopAll(nodes)
  }
})

test('the leases topic of a sync carries what decided recent orders, each checked as gossip on that topic', async () => {
  const nodes: SoukNode[] = []
  try {
    const tenant = await startNode()
    nodes.push(tenant)
    // messages of the leases topic (closes stand in for certificates here: the topic's checks are the same)
    const outcomes = [1, 2].map((i) => signMessage(tenant.identity, MessageTag.CLOSE, { lease: new Uint8Array(32).fill(i), reason: '' }))
    const misplaced = signOrder(tenant.identity).bytes
    const server = await startNode({ openOrders: () => [], outcomes: () => [...outcomes.map((m) => m.bytes), misplaced] })
    const old = await startNode({ openOrders: () => [] })
    const joiner = await startNode()
    nodes.push(server, old, joiner)
    const got: SignedMessage[] = []
    joiner.gossip.onMessage(Topic.LEASES, (m) => { got.push(m) })
    await joiner.dial(server.multiaddrs()[0])
    const r = await joiner.syncOrders(server.peerId, { topic: Topic.LEASES })
    assert.equal(r, { received: 3, accepted: 2, ignored: 0, rejected: 1 }, 'an order is not a message of the leases topic')
    assert.equal(got.map((m) => m.idHex).sort(), outcomes.map((m) => m.idHex).sort())
    // a node that offers no outcomes (as before the leases topic was served) answers with none
    await joiner.dial(old.multiaddrs()[0])
    assert.equal(await joiner.syncOrders(old.peerId, { topic: Topic.LEASES }), { received: 0, accepted: 0, ignored: 0, rejected: 0 })
  } finally {
    await stopAll(nodes)
  }
})


test.run()
