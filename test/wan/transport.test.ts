// The transport wrapper under real libp2p nodes (TCP, noise, yamux): a ping between nodes in
// us-east and ap-northeast takes at least the table's 145 ms round trip, one between two us-east
// nodes far less, and the connection reports the address really dialled. Every protocol runs over
// the shaped socket, so ping seeing the delay means gossip, DHT and streams see it too.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { wanTransport, wanDialInit, regionRttMs, tcpTarget } from '../../src/net/wan/index.ts'
import type { Region, WanSettings } from '../../src/net/wan/index.ts'

type Node = Libp2p<{ ping: Ping }>

async function network (regions: Region[]): Promise<Node[]> {
  // the listeners' ports are known only once they listen; the peer table is filled in afterwards
  const peers: Record<string, Region> = {}
  const nodes: Node[] = []
  for (const region of regions) {
    const settings: WanSettings = { profile: 'continents', seed: 5, region, peers }
    nodes.push(await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [wanTransport(tcp(), { ...wanDialInit({ ...settings, peers: {} }), pathTo: (t) => wanDialInit({ ...settings, peers }).pathTo(t) })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionMonitor: { enabled: false },
      services: { ping: ping() }
    }) as Node)
  }
  nodes.forEach((n, i) => {
    const t = tcpTarget(n.getMultiaddrs()[0])!
    peers[`${t.host}:${t.port}`] = regions[i]
  })
  return nodes
}

async function medianPing (from: Node, to: Node, n: number): Promise<number> {
  const rtts: number[] = []
  for (let i = 0; i < n; i++) rtts.push(await from.services.ping.ping(to.peerId, { signal: AbortSignal.timeout(10_000) }))
  rtts.sort((a, b) => a - b)
  return rtts[Math.floor(n / 2)]
}

test('libp2p ping sees the profile\'s round trip between regions', async () => {
  const [tokyo, virginia, virginia2] = await network(['ap-northeast', 'us-east', 'us-east'])
  try {
    const conn = await virginia.dial(tokyo.getMultiaddrs()[0], { signal: AbortSignal.timeout(10_000) })
    assert.ok(conn.remoteAddr.equals(tokyo.getMultiaddrs()[0]), `remote address ${conn.remoteAddr.toString()}`)
    await virginia.dial(virginia2.getMultiaddrs()[0], { signal: AbortSignal.timeout(10_000) })
    const far = await medianPing(virginia, tokyo, 5)
    const near = await medianPing(virginia, virginia2, 5)
    const rtt = regionRttMs('us-east', 'ap-northeast')
    // jitter is ±5 % of each one-way delay; a lost segment only adds
    assert.ok(far >= rtt * 0.9, `ping ${far} ms, table ${rtt} ms`)
    assert.ok(far < rtt + 2_000, `ping ${far} ms`)
    assert.ok(near < far / 2, `near ${near} ms, far ${far} ms`)
    // the other direction goes over the same connection, shaped by its dialer
    const back = await medianPing(tokyo, virginia, 5)
    assert.ok(back >= rtt * 0.9, `ping back ${back} ms`)
  } finally {
    await Promise.all([tokyo, virginia, virginia2].map(async (n) => await n.stop()))
  }
})

test('a target the plan does not know is dialled unshaped, and other transports are left alone', async () => {
  const [a, b] = await network(['us-east', 'sa-east'])
  const plain = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionMonitor: { enabled: false }, services: { ping: ping() } }) as Node
  try {
    await a.dial(plain.getMultiaddrs()[0], { signal: AbortSignal.timeout(10_000) })
    const rtt = await medianPing(a, plain, 5)
    assert.ok(rtt < regionRttMs('us-east', 'sa-east') / 2, `unshaped ping ${rtt} ms`)
    assert.is(tcpTarget(multiaddr('/ip4/127.0.0.1/tcp/4001/ws')), undefined)
    assert.equal(tcpTarget(multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${b.peerId.toString()}`)), { host: '127.0.0.1', port: 4001, rest: `/p2p/${b.peerId.toString()}` })
  } finally {
    await Promise.all([a, b, plain].map(async (n) => await n.stop()))
  }
})

test.run()
