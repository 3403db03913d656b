// The committee's stream transport on real libp2p nodes over loopback.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { multiaddr } from '@multiformats/multiaddr'
import { generateIdentity } from '../../src/identity/index.ts'
import { committeeTransport, MAX_QUEUE_BYTES } from '../../src/net/index.ts'
import type { CommitteeTransport } from '../../src/net/index.ts'
import { startNode, stopAll, waitFor, sleep } from '../net/helpers.ts'
import type { SoukNode } from '../../src/net/index.ts'

test('a member dialled before any address of it is known is still reached once a bootstrap dial lands', async () => {
  // What a validator does at start: its first heartbeat goes to the other members before it
  // knows their addresses; then the bootstrap module dials the same peer without a deadline.
  // A dial by bare peer ID used to start a peer-routing lookup inside the dial queue that waited
  // for the (empty) routing table; the bootstrap dial joined it and kept it alive, so the node
  // never connected to anyone (a validator stuck at height 1 while the others went on).
  const a = await startNode()
  const b = await startNode()
  const ta: CommitteeTransport = committeeTransport({ members: () => [a.identity.publicKey, b.identity.publicKey] })({ net: a })
  const tb: CommitteeTransport = committeeTransport({ members: () => [a.identity.publicKey, b.identity.publicKey] })({ net: b })
  const got: Array<{ from: string, key?: Uint8Array }> = []
  try {
    await ta.start((from, _data, key) => { got.push({ from, key }) })
    await tb.start(() => {})
    tb.broadcast(new Uint8Array([1, 2, 3]))
    await sleep(50)
    // the bootstrap module's way: the address into the peer store, then a dial with no deadline
    const addr = multiaddr(a.multiaddrs()[0])
    await b.libp2p.peerStore.merge(a.peerId, { multiaddrs: [addr] })
    void b.libp2p.dial(a.peerId).catch(() => {})
    // the heartbeat repeats itself
    const ok = await waitFor(async () => {
      if (got.length > 0) return true
      tb.broadcast(new Uint8Array([1, 2, 3]))
      await sleep(200)
      return got.length > 0
    }, 15_000)
    assert.ok(ok, 'the member was reached')
    assert.is(got[0].from, b.peerId.toString())
    assert.equal(got[0].key, b.identity.publicKey, 'frames arrive with the sender\'s authenticated key')
  } finally {
    await ta.stop(); await tb.stop()
    await stopAll([a, b])
  }
})

test('frames for a member that cannot be reached are dropped with its queue, which is bounded in bytes', async () => {
  const a = await startNode()
  const ghost = generateIdentity() // a member whose node is not running
  const t: CommitteeTransport = committeeTransport({ members: () => [a.identity.publicKey, ghost.publicKey] })({ net: a })
  try {
    await t.start(() => {})
    const big = new Uint8Array(1024 * 1024)
    for (let i = 0; i < 20; i++) t.broadcast(big)
    const q = t.queued()
    assert.ok(q.bytes <= MAX_QUEUE_BYTES, `at most ${MAX_QUEUE_BYTES} bytes queued for one peer, not ${q.bytes}`)
    assert.ok(await waitFor(() => t.queued().peers === 0, 15_000), 'the queue is gone once dialling failed')
    assert.is(t.queued().bytes, 0)
  } finally {
    await t.stop()
    await stopAll([a])
  }
})

test('a peer outside the committee is heard (the node decides what it may ask), a bounded number at a time', async () => {
  const a = await startNode()
  const strangers: SoukNode[] = []
  const t: CommitteeTransport = committeeTransport({ members: () => [a.identity.publicKey] })({ net: a })
  const from = new Set<string>()
  try {
    await t.start((peer, _data, key) => { if (key != null) from.add(peer) })
    for (let i = 0; i < 10; i++) strangers.push(await startNode())
    for (const s of strangers) {
      await s.libp2p.peerStore.merge(a.peerId, { multiaddrs: [multiaddr(a.multiaddrs()[0])] })
      const st = committeeTransport({ members: () => [a.identity.publicKey] })({ net: s })
      await st.start(() => {})
      st.send(a.peerId.toString(), new Uint8Array([9]))
    }
    await waitFor(() => from.size >= 8, 10_000)
    await sleep(300)
    assert.ok(from.size >= 1 && from.size <= 8, `at most 8 guests at a time, heard ${from.size}`)
  } finally {
    await t.stop()
    await stopAll([a, ...strangers])
  }
})

test.run()
