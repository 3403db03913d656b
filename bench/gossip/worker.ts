// One worker process of the gossip benchmark: runs a share of the nodes, dials what the
// coordinator tells it to, publishes signed orders on request and records every delivery; it also
// meters the bytes its nodes' connections carry, runs DHT provider lookups and times a new node's
// join. With a WAN profile every node's dials go through the emulation (src/net/wan).
import { createSoukLibp2p, Topic, roleCid } from '../../src/net/index.ts'
import type { SoukNode, GossipConfig } from '../../src/net/index.ts'
import { signMessage, MessageTag, sha256 } from '../../src/wire/index.ts'
import type { OrderBody } from '../../src/wire/index.ts'
import { spreadRegion, wanDialInit } from '../../src/net/wan/index.ts'
import type { Region, WanDialInit } from '../../src/net/wan/index.ts'
import type { FromWorker, ToWorker, WanChoice } from './protocol.ts'
import { ByteMeter, hookDials } from './transport-hooks.ts'

const nodes: SoukNode[] = []
const latencies: number[] = []
// creation time of each delivery's order, for the timeline
const created: number[] = []
const received: Record<string, number> = {}
let publishErrors = 0
const meter = new ByteMeter()
let first = 0
let gossipConfig: GossipConfig = {}
let wan: WanChoice | undefined
let wanPeers: Record<string, Region> | undefined
// open orders as received (envelope bytes), served to joining nodes by every node of this worker
const MAX_OPEN = 5_000
const DIAL_CONCURRENCY = 16
const open = new Map<string, Uint8Array>()

const send = (m: FromWorker): void => { process.send?.(m) }

function body (): OrderBody {
  return {
    groups: [{
      name: 'web',
      attributes: { region: 'bench' },
      signedBy: { allOf: [], anyOf: [] },
      resources: [{ service: 'web', cpu: 500, memory: 268435456, storage: [], gpu: { units: 0, models: [] }, count: 1, price: { denom: 'uakt', amount: '10' } }],
      maxPrice: { denom: 'uakt', amount: '10' }
    }],
    manifestHash: sha256(new TextEncoder().encode(String(Math.random()))),
    bidDeadline: Date.now() + 120_000
  }
}

/** the node's dial settings under the WAN profile, once the regions are known */
const wanFor = (g: number): (() => WanDialInit | undefined) => {
  let init: WanDialInit | undefined
  return () => {
    if (wan == null || wanPeers == null) return undefined
    init ??= wanDialInit({ profile: wan.profile, seed: wan.seed, region: spreadRegion(g), peers: wanPeers }, `n${g}`)
    return init
  }
}

async function startNode (g: number, bootstrapServe = true): Promise<SoukNode> {
  const n = await createSoukLibp2p({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    testNetwork: true,
    autonat: false,
    dcutr: false,
    minConnections: 0,
    gossip: gossipConfig,
    openOrders: bootstrapServe ? () => open.values() : undefined
  })
  hookDials(n, meter, wanFor(g))
  return n
}

async function handle (m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'start': {
      first = m.first
      wan = m.wan
      gossipConfig = m.gossip
      for (let i = 0; i < m.nodes; i++) {
        const n = await startNode(first + i)
        n.gossip.onMessage(Topic.ORDERS, (msg) => {
          latencies.push(Date.now() - msg.createdAt)
          created.push(msg.createdAt)
          received[msg.idHex] = (received[msg.idHex] ?? 0) + 1
          if (!open.has(msg.idHex)) {
            open.set(msg.idHex, msg.bytes)
            if (open.size > MAX_OPEN) open.delete(open.keys().next().value!)
          }
        })
        nodes.push(n)
      }
      send({ type: 'started', addrs: nodes.map((n) => n.multiaddrs()[0]) })
      break
    }
    case 'regions': {
      wanPeers = m.peers
      break
    }
    case 'dial': {
      let failures = 0
      // a bounded number of handshakes at a time: thousands at once starve each other past
      // libp2p's per-address dial timeout (6 s) and the listeners' upgrade timeout (10 s)
      const queue = [...m.plan]
      await Promise.all(Array.from({ length: DIAL_CONCURRENCY }, async () => {
        for (let item = queue.shift(); item != null; item = queue.shift()) await dialAll(item)
      }))
      async function dialAll ({ node, addrs }: { node: number, addrs: string[] }): Promise<void> {
        for (const a of addrs) {
          // on a busy machine a handshake can miss libp2p's per-address timeout once; a node would try again
          for (let attempt = 0; attempt < 2; attempt++) {
            try {
              await nodes[node].dial(a, { signal: AbortSignal.timeout(20_000) })
              break
            } catch (err: any) {
              if (attempt === 0) continue
              failures++
              if (failures <= 2 && process.env.SOUK_BENCH_DEBUG != null) console.error(`dial ${a}: ${String(err?.message ?? err)}`)
            }
          }
        }
      }
      send({ type: 'dialed', failures })
      break
    }
    case 'mesh?': {
      const sizes = nodes.map((n) => n.gossip.meshPeers(Topic.ORDERS).length)
      send({ type: 'mesh', ready: sizes.filter((s) => s > 0).length, minMesh: Math.min(...sizes), meshPeers: sizes.reduce((a, b) => a + b, 0), connections: nodes.reduce((s, n) => s + n.libp2p.getConnections().length, 0) })
      break
    }
    case 'rss?': {
      globalThis.gc?.()
      const mu = process.memoryUsage()
      send({ type: 'rss', rss: mu.rss, heapUsed: mu.heapUsed, nodes: nodes.length })
      break
    }
    case 'count?': {
      send({ type: 'count', deliveries: latencies.length })
      break
    }
    case 'bytes?': {
      send({ type: 'bytes', bytes: meter.total() })
      break
    }
    case 'publish': {
      const n = nodes[m.node]
      // the creation time is the publisher's clock: receivers on this machine share it
      const msg = signMessage(n.identity, MessageTag.ORDER, body())
      open.set(msg.idHex, msg.bytes)
      try {
        const r = await n.gossip.publish(Topic.ORDERS, msg)
        send({ type: 'published', id: msg.idHex, recipients: r.recipients, size: msg.bytes.length })
      } catch {
        publishErrors++
        send({ type: 'published', id: msg.idHex, recipients: -1, size: msg.bytes.length })
      }
      break
    }
    case 'provide': {
      const t0 = Date.now()
      const r = await Promise.allSettled(m.nodes.map(async (i) => { await nodes[i].provideRole('provider', { signal: AbortSignal.timeout(60_000) }) }))
      send({ type: 'provided', ms: Date.now() - t0, failures: r.filter((x) => x.status === 'rejected').length })
      break
    }
    case 'find': {
      const n = nodes[m.node]
      const t0 = performance.now()
      // depth of each peer in the lookup: peers the finder asks first are 1, peers they name are 2, …
      const depth = new Map<string, number>()
      let queries = 0
      let hops = -1
      try {
        for await (const e of (n.libp2p.services.dht as any).findProviders(roleCid('provider'), { signal: AbortSignal.timeout(m.timeoutMs) })) {
          if (e.name === 'PEER_RESPONSE') {
            queries++
            const d = depth.get(e.from.toString()) ?? 1
            for (const c of e.closer) if (!depth.has(c.id.toString())) depth.set(c.id.toString(), d + 1)
            if (e.providers.length > 0) { hops = d; break }
          } else if (e.name === 'PROVIDER') {
            // answered from this node's own records
            hops = depth.get(e.from?.toString()) ?? 0
            break
          }
        }
      } catch {}
      send({ type: 'found', ms: performance.now() - t0, hops, queries, found: hops >= 0 })
      break
    }
    case 'join': {
      const t0 = performance.now()
      let n: SoukNode | undefined
      try {
        n = await startNode(m.index, false)
        const joiner = n
        let synced = 0
        // a node joins by dialling the addresses it was given, then pulls the open orders it missed
        const conns = await Promise.allSettled(m.bootstrap.map(async (a) => await joiner.dial(a, { signal: AbortSignal.timeout(m.timeoutMs) })))
        const peer = conns.find((c) => c.status === 'fulfilled')
        if (peer == null) throw new Error('no bootstrap peer answered')
        const meshReady = (async () => {
          while (joiner.gossip.meshPeers(Topic.ORDERS).length === 0) {
            if (performance.now() - t0 > m.timeoutMs) throw new Error('no orders mesh')
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
          return performance.now() - t0
        })()
        const syncDone = (async () => {
          const r = await joiner.syncOrders((peer as PromiseFulfilledResult<any>).value.remotePeer, { timeoutMs: m.timeoutMs })
          synced = r.accepted
          return performance.now() - t0
        })()
        const [meshMs, syncMs] = await Promise.all([meshReady, syncDone])
        send({ type: 'joined', meshMs, syncMs, joinMs: Math.max(meshMs, syncMs), synced, connections: joiner.libp2p.getConnections().length })
      } catch (err: any) {
        send({ type: 'joined', meshMs: -1, syncMs: -1, joinMs: -1, synced: 0, connections: 0, error: String(err?.message ?? err) })
      } finally {
        await n?.stop().catch(() => {})
      }
      break
    }
    case 'cpu?': {
      const u = process.cpuUsage()
      send({ type: 'cpu', userMs: u.user / 1000, systemMs: u.system / 1000 })
      break
    }
    case 'report?': {
      send({ type: 'report', latencies, created, received, publishErrors })
      break
    }
    case 'stop': {
      await Promise.allSettled(nodes.map(async (n) => await n.stop()))
      send({ type: 'stopped' })
      process.disconnect?.()
      setTimeout(() => process.exit(0), 200).unref()
      break
    }
  }
}

// the coordinator gone means the benchmark is over: never outlive it
process.on('disconnect', () => { setTimeout(() => process.exit(0), 1_000).unref() })
process.on('message', (m: ToWorker) => {
  handle(m).catch((err: any) => { send({ type: 'error', message: String(err?.stack ?? err) }) })
})
