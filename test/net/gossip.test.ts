import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Topic } from '../../src/net/index.ts'
import type { SoukNode } from '../../src/net/index.ts'
import type { SignedMessage } from '../../src/wire/index.ts'
import { gossipsubPubSub } from '../../src/net/pubsub.ts'
import { meshReady, signOrder, startNode, stopAll, waitFor } from './helpers.ts'

test('an order published by one of 10 nodes reaches all the others, verified, once each', async () => {
  const nodes: SoukNode[] = []
  try {
    const first = await startNode()
    nodes.push(first)
    // a sparse chain-plus-hub topology: each new node dials the first and its predecessor
    for (let i = 1; i < 10; i++) {
      const n = await startNode()
      nodes.push(n)
      await n.dial(first.multiaddrs()[0])
      if (i > 1) await n.dial(nodes[i - 1].multiaddrs()[0])
    }
    assert.ok(await meshReady(nodes, Topic.ORDERS, 1), 'every node has an orders mesh')
    const got = nodes.map(() => [] as SignedMessage[])
    nodes.forEach((n, i) => n.gossip.onMessage(Topic.ORDERS, (m) => { got[i].push(m) }))

    const publisher = nodes[7]
    const order = signOrder(publisher.identity)
    const r = await publisher.gossip.publish(Topic.ORDERS, order)
    assert.ok(r.recipients > 0)
    assert.ok(await waitFor(() => got.every((g, i) => i === 7 || g.length === 1), 10_000), `delivered to ${got.filter((g) => g.length > 0).length} of 9`)
    for (const [i, g] of got.entries()) {
      if (i === 7) { assert.is(g.length, 0, 'the publisher does not hear itself'); continue }
      assert.is(g[0].idHex, order.idHex)
      assert.is(g[0].tag, 'souk/order')
      assert.equal(g[0].signer, publisher.identity.publicKey)
    }
  } finally {
    await stopAll(nodes)
  }
})

test('a subscriber counts once a publish reaches it: its subscription alone, before this node\'s stream to it opens, does not', () => {
  const a = { toString: () => 'peer-a' }
  const b = { toString: () => 'peer-b' }
  const streamsOutbound = new Map<string, unknown>([['peer-a', {}]])
  const gs = { addEventListener () {}, getSubscribers: () => [a, b], streamsOutbound }
  const ps = gossipsubPubSub(gs as any)
  assert.equal(ps.subscribers(Topic.ORDERS).map(String), ['peer-a'])
  streamsOutbound.set('peer-b', {})
  assert.equal(ps.subscribers(Topic.ORDERS).map(String), ['peer-a', 'peer-b'])
})

test.run()
