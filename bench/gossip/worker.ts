// One worker process of the gossip benchmark: runs a share of the nodes, dials what the
// coordinator tells it to, publishes signed orders on request and records every delivery.
import { createSoukLibp2p, Topic } from '../../src/net/index.ts'
import type { SoukNode } from '../../src/net/index.ts'
import { signMessage, MessageTag, sha256 } from '../../src/wire/index.ts'
import type { OrderBody } from '../../src/wire/index.ts'
import type { FromWorker, ToWorker } from './protocol.ts'

const nodes: SoukNode[] = []
const latencies: number[] = []
// creation time of each delivery's order, for the timeline
const created: number[] = []
const received: Record<string, number> = {}
let publishErrors = 0

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
    bidDeadline: Date.now() + 60_000
  }
}

async function handle (m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'start': {
      for (let i = 0; i < m.nodes; i++) {
        const n = await createSoukLibp2p({
          listen: ['/ip4/127.0.0.1/tcp/0'],
          testNetwork: true,
          autonat: false,
          dcutr: false,
          minConnections: 0,
          gossip: m.gossip
        })
        n.gossip.onMessage(Topic.ORDERS, (msg) => {
          latencies.push(Date.now() - msg.createdAt)
          created.push(msg.createdAt)
          received[msg.idHex] = (received[msg.idHex] ?? 0) + 1
        })
        nodes.push(n)
      }
      send({ type: 'started', addrs: nodes.map((n) => n.multiaddrs()[0]) })
      break
    }
    case 'dial': {
      let failures = 0
      await Promise.all(m.plan.map(async ({ node, addrs }) => {
        for (const a of addrs) {
          try {
            await nodes[node].dial(a, { signal: AbortSignal.timeout(10_000) })
          } catch (err: any) {
            failures++
            if (failures <= 2 && process.env.SOUK_BENCH_DEBUG != null) console.error(`dial ${a}: ${String(err?.message ?? err)}`)
          }
        }
      }))
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
    case 'publish': {
      const n = nodes[m.node]
      // the creation time is the publisher's clock: receivers on this machine share it
      const msg = signMessage(n.identity, MessageTag.ORDER, body())
      try {
        const r = await n.gossip.publish(Topic.ORDERS, msg)
        send({ type: 'published', id: msg.idHex, recipients: r.recipients })
      } catch {
        publishErrors++
        send({ type: 'published', id: msg.idHex, recipients: -1 })
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

process.on('message', (m: ToWorker) => {
  handle(m).catch((err: any) => { send({ type: 'error', message: String(err?.stack ?? err) }) })
})
