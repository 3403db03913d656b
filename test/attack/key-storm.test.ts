// The key storm: every message signed by a key never seen before. A new key costs its receiver the
// key rule (once, then cached), so without a bound per forwarding peer a stranger buys one key
// check per message, at no cost to itself and past every per-signer limit.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { signMessage, MessageTag } from '../../src/wire/index.ts'
import { Topic } from '../../src/net/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { startNode, stopAll, orderBody, subscribedTo } from '../net/helpers.ts'

test('a peer sending 1,500 messages from 1,500 new keys gets its budget of key checks, no more', async () => {
  const victim = await startNode()
  const attacker = await startNode({ bootstrap: [victim.multiaddrs()[0]], gossip: { directPeers: [victim.multiaddrs()[0]] } })
  try {
    await attacker.dial(victim.multiaddrs()[0])
    assert.ok(await subscribedTo(attacker, [victim], Topic.ORDERS), 'the attacker sees the victim subscribed')
    let delivered = 0
    victim.gossip.onMessage(Topic.ORDERS, () => { delivered++ })
    // made before the clock starts: the attacker's own cost is not what is measured
    const now = Date.now()
    const storm = Array.from({ length: 1500 }, () => signMessage(generateIdentity(), MessageTag.ORDER, orderBody(undefined, now), { createdAt: now }))
    const started = Date.now()
    for (const [i, m] of storm.entries()) {
      await attacker.libp2p.services.pubsub.publish(Topic.ORDERS, m.bytes).catch(() => {})
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 10))
    }
    // everything sent has arrived once the count stops moving
    let last = -1
    for (let i = 0; i < 100 && delivered !== last; i++) { last = delivered; await new Promise((resolve) => setTimeout(resolve, 200)) }
    const seconds = (Date.now() - started) / 1000
    // NEW_KEY_LIMIT: 500 at once, then 100 a second, per forwarding peer
    assert.ok(delivered <= 500 + 100 * seconds + 10, `${delivered} of 1,500 messages from new keys were checked and delivered in ${seconds.toFixed(1)} s`)
    assert.ok(delivered >= 400, `the budget lets honest newcomers through: ${delivered}`)
    // and each that was not checked stayed unchecked: the victim's key checks are its deliveries
    const checks = (victim.metrics as any).get?.('souk_key_checks_total') ?? delivered
    assert.ok(checks <= delivered + 10, `${checks} key checks for ${delivered} deliveries`)
  } finally {
    await stopAll([attacker, victim])
  }
})

test.run()
