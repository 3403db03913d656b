// Bad gossip on a real network: an attacker publishes raw bytes through its gossipsub (its own
// validation never runs on its publishes). Every receiver refuses them, the application never
// sees them, the attacker's score drops, and a spamming peer is throttled.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeCbor, MessageTag } from '../../src/wire/index.ts'
import type { SignedMessage } from '../../src/wire/index.ts'
import { Topic, MetricName } from '../../src/net/index.ts'
import type { SoukNode, MemoryMetrics } from '../../src/net/index.ts'
import { memoryMetrics } from '../../src/net/index.ts'
import { meshReady, signOrder, sleep, startNode, stopAll, subscribedTo, waitFor } from './helpers.ts'

test('forged, stale, replayed and oversized messages never reach the application; the sender loses score', async () => {
  const nodes: SoukNode[] = []
  const all: SoukNode[] = []
  const metrics: MemoryMetrics[] = []
  try {
    // receivers forget seen message IDs after 300 ms, so a later replay reaches the validator
    for (let i = 0; i < 3; i++) {
      const m = memoryMetrics()
      metrics.push(m)
      nodes.push(await startNode({ metrics: m, gossip: { seenTtlMs: 300 } }))
      all.push(nodes[i])
    }
    const attacker = await startNode({ gossip: { seenTtlMs: 300 } })
    all.push(attacker)
    const [a, b, c] = nodes
    await b.dial(a.multiaddrs()[0])
    await c.dial(b.multiaddrs()[0])
    for (const n of nodes) await attacker.dial(n.multiaddrs()[0])
    assert.ok(await meshReady([...nodes, attacker], Topic.ORDERS, 1))
    assert.ok(await subscribedTo(attacker, nodes, Topic.ORDERS), 'the attacker knows every receiver subscribes')

    const got = nodes.map(() => [] as SignedMessage[])
    nodes.forEach((n, i) => n.gossip.onMessage('*', (m) => { got[i].push(m) }))
    const raw = async (data: Uint8Array): Promise<void> => { await attacker.libp2p.services.pubsub.publish(Topic.ORDERS, data) }

    const good = signOrder(attacker.identity)
    const forgedSig = new Uint8Array(good.sig); forgedSig[5] ^= 0x40
    const forged = encodeCbor([good.payload, good.signer, forgedSig])
    const stale = signOrder(attacker.identity, { createdAt: Date.now() - 20 * 60_000 }).bytes
    const oversized = encodeCbor([new Uint8Array(80 * 1024), attacker.identity.publicKey, new Uint8Array(64)])
    const honest = signOrder(attacker.identity)

    await raw(forged)
    await raw(stale)
    await raw(oversized)
    await raw(honest.bytes)
    assert.ok(await waitFor(() => got.every((g) => g.length === 1), 5_000), 'the honest order arrives everywhere')
    assert.ok(got.every((g) => g[0].idHex === honest.idHex))

    // replay the honest order after the receivers' gossipsub forgot it: the replay window holds
    await sleep(1_200)
    await raw(honest.bytes)
    assert.ok(await waitFor(() => metrics.every((m) => m.get(MetricName.GOSSIP_VALIDATION, { topic: Topic.ORDERS, verdict: 'ignore', code: 'ERR_WIRE_REPLAY' }) >= 1), 5_000), 'every receiver ignored the replay')
    assert.ok(got.every((g) => g.length === 1), 'nothing but the honest order was ever delivered')

    for (const [i, m] of metrics.entries()) {
      assert.is(m.get(MetricName.GOSSIP_VALIDATION, { topic: Topic.ORDERS, verdict: 'reject', code: 'ERR_WIRE_BAD_SIGNATURE' }), 1, `node ${i} rejected the forgery`)
      assert.is(m.get(MetricName.GOSSIP_VALIDATION, { topic: Topic.ORDERS, verdict: 'reject', code: 'ERR_WIRE_TOO_LARGE' }), 1, `node ${i} rejected the oversized message`)
      assert.is(m.get(MetricName.GOSSIP_VALIDATION, { topic: Topic.ORDERS, verdict: 'ignore', code: 'ERR_WIRE_STALE' }), 1, `node ${i} ignored the stale message`)
    }
    assert.ok(await waitFor(() => nodes.every((n) => n.gossip.score(attacker.peerId) < 0), 3_000), 'every receiver scores the attacker below zero')
  } finally {
    await stopAll(all)
  }
})

test('a peer spamming valid orders is rate limited, loses score and is throttled; honest orders still flow', async () => {
  const all: SoukNode[] = []
  try {
    const topics = {
      [Topic.ORDERS]: { tags: [MessageTag.ORDER], signerLimit: { perSecond: 5, burst: 10 }, peerLimit: { perSecond: 50, burst: 100 } }
    }
    const receivers: SoukNode[] = []
    const metrics: MemoryMetrics[] = []
    for (let i = 0; i < 2; i++) {
      const m = memoryMetrics()
      metrics.push(m)
      receivers.push(await startNode({ metrics: m, gossip: { topics } }))
    }
    all.push(...receivers)
    const spammer = await startNode({ gossip: { topics } })
    const honest = await startNode({ gossip: { topics } })
    all.push(spammer, honest)
    await receivers[1].dial(receivers[0].multiaddrs()[0])
    for (const r of receivers) {
      await spammer.dial(r.multiaddrs()[0])
      await honest.dial(r.multiaddrs()[0])
    }
    assert.ok(await subscribedTo(spammer, receivers, Topic.ORDERS))
    assert.ok(await subscribedTo(honest, receivers, Topic.ORDERS))
    assert.ok(await meshReady(all, Topic.ORDERS, 1))
    const got = receivers.map(() => [] as SignedMessage[])
    receivers.forEach((n, i) => n.gossip.onMessage(Topic.ORDERS, (m) => { got[i].push(m) }))

    const SPAM = 150
    for (let i = 0; i < SPAM; i++) await spammer.gossip.publish(Topic.ORDERS, signOrder(spammer.identity))
    const spamSeen = (i: number): number => got[i].filter((m) => Buffer.compare(m.signer, spammer.identity.publicKey) === 0).length
    assert.ok(await waitFor(() => receivers.every((r) => r.penalties.isThrottled(spammer.peerId.toString())), 5_000), 'both receivers throttle the spammer')
    // gossipsub caches a score for one heartbeat
    assert.ok(await waitFor(() => receivers.every((r) => r.gossip.score(spammer.peerId) < -80), 3_000), 'the spammer\'s score falls below the graylist threshold')
    for (const [i] of receivers.entries()) {
      assert.ok(spamSeen(i) < 40, `receiver ${i} delivered ${spamSeen(i)} of ${SPAM} spam orders`)
      assert.ok(metrics[i].get(MetricName.GOSSIP_VALIDATION, { topic: Topic.ORDERS, verdict: 'ignore', code: 'ERR_GOSSIP_RATE_LIMITED' }) > 0)
    }
    // the honest peer is untouched
    const order = signOrder(honest.identity)
    await honest.gossip.publish(Topic.ORDERS, order)
    assert.ok(await waitFor(() => got.every((g) => g.some((m) => m.idHex === order.idHex)), 5_000), 'the honest order arrives')
    for (const r of receivers) assert.ok(r.gossip.score(honest.peerId) >= 0)
  } finally {
    await stopAll(all)
  }
})

test.run()
