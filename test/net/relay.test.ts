// Reachability through a circuit relay v2: a provider that listens on no address of its own
// (it accepts no inbound connections) reserves a slot on a relay and is reached through it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { sha256 } from '../../src/wire/index.ts'
import { accept, checkManifest } from '../../src/net/index.ts'
import type { SoukNode } from '../../src/net/index.ts'
import { startNode, stopAll, waitFor } from './helpers.ts'

test('a node with no listening address is reachable through a relay', async () => {
  const nodes: SoukNode[] = []
  try {
    const relay = await startNode({ relay: { server: true } })
    nodes.push(relay)
    const relayAddr = relay.multiaddrs()[0]
    const hidden = await startNode({ listen: [], relay: { reserveOn: [relayAddr] } })
    nodes.push(hidden)
    assert.ok(await waitFor(() => hidden.multiaddrs().some((a) => a.includes('/p2p-circuit')), 10_000), 'reservation made')
    assert.ok(hidden.multiaddrs().every((a) => a.includes('/p2p-circuit')), `only relayed addresses: ${hidden.multiaddrs().join(' ')}`)

    const manifest = new TextEncoder().encode('{"services":{}}')
    const lease = sha256(new TextEncoder().encode('relayed-lease'))
    const tenant = await startNode()
    nodes.push(tenant)
    await hidden.handleManifest({
      onManifest: (peer, frame) => checkManifest(peer, frame, { tenant: tenant.identity.publicKey, manifestHash: sha256(manifest) }) ?? accept()
    })

    const conn = await tenant.dial(hidden.multiaddrs()[0])
    assert.ok(conn.remoteAddr.toString().includes('/p2p-circuit'), 'the connection goes through the relay')
    assert.ok(conn.remotePeer.equals(hidden.peerId), 'noise authenticated the hidden node, not the relay')
    const r = await tenant.sendManifest(hidden.peerId, { lease, manifest, sequence: 0 })
    assert.equal(r, { ok: true })
  } finally {
    await stopAll(nodes)
  }
})

test('a manifest near the 1 MiB limit gets through the relay (beyond libp2p\'s 128 KiB default circuit limit)', async () => {
  const nodes: SoukNode[] = []
  try {
    const relay = await startNode({ relay: { server: true } })
    nodes.push(relay)
    const hidden = await startNode({ listen: [], relay: { reserveOn: [relay.multiaddrs()[0]] } })
    nodes.push(hidden)
    assert.ok(await waitFor(() => hidden.multiaddrs().some((a) => a.includes('/p2p-circuit')), 10_000), 'reservation made')
    const tenant = await startNode()
    nodes.push(tenant)
    const manifest = new TextEncoder().encode(JSON.stringify({ services: {}, note: 'x'.repeat(900 * 1024) }))
    const lease = sha256(new TextEncoder().encode('big-relayed-lease'))
    let got = 0
    await hidden.handleManifest({
      onManifest: (peer, frame) => { got = frame.manifest.length; return checkManifest(peer, frame, { tenant: tenant.identity.publicKey, manifestHash: sha256(manifest) }) ?? accept() }
    })
    await tenant.dial(hidden.multiaddrs()[0])
    assert.equal(await tenant.sendManifest(hidden.peerId, { lease, manifest, sequence: 0 }), { ok: true })
    assert.is(got, manifest.length)
  } finally {
    await stopAll(nodes)
  }
})

test.run()
