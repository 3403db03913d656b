// CPU per gossip hop: a chain of souk nodes in one process (node i dials node i+1, so each node's
// orders mesh is its neighbours and nothing arrives twice); node 0 publishes signed orders from
// 100 keys at a fixed rate (under the topic's rate limits) and every other node delivers each
// once. The process's CPU time while they flow, less its idle rate measured first, divided by the
// deliveries: what one hop costs a node (its half of the sender's work and the receiver's),
// through the whole stack: TCP, noise, yamux, gossipsub and souk's validation.
//
//   node bench/gossip-hop.ts [--nodes 2] [--messages 2000] [--rate 250]
//
// Last line: gossip-hop nodes=… rate=… delivered=… cpu_us_per_delivery=… verify_us=… bytes=…
import { createSoukLibp2p, Topic } from '../src/net/index.ts'
import type { SoukNode } from '../src/net/index.ts'
import { signMessage, MessageTag, sha256 } from '../src/wire/index.ts'
import type { OrderBody } from '../src/wire/index.ts'
import { generateIdentity, verify } from '../src/identity/index.ts'
import { setTimeout as sleep } from 'node:timers/promises'

function arg (name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const v = i < 0 ? def : Number(process.argv[i + 1])
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`)
  return v
}
const K = Math.max(2, Math.floor(arg('nodes', 2)))
const M = Math.floor(arg('messages', 2000))
// the orders topic takes 300 a second from one forwarding peer (protocols/gossip.md §6)
const RATE = Math.min(arg('rate', 250), 290)

const nodes: SoukNode[] = []
for (let i = 0; i < K; i++) nodes.push(await createSoukLibp2p({ listen: ['/ip4/127.0.0.1/tcp/0'], testNetwork: true, autonat: false, dcutr: false, minConnections: 0 }))
let delivered = 0
for (const n of nodes) n.gossip.onMessage(Topic.ORDERS, () => { delivered++ })
for (let i = 0; i + 1 < K; i++) await nodes[i].dial(nodes[i + 1].multiaddrs()[0])
for (let t = 0; t < 200 && !nodes.slice(1).every((n) => n.gossip.meshPeers(Topic.ORDERS).length > 0); t++) await sleep(100)
await sleep(2000)

const keys = Array.from({ length: 100 }, () => generateIdentity())
const body = (i: number): OrderBody => ({
  groups: [{ name: 'web', attributes: { region: 'bench' }, signedBy: { allOf: [], anyOf: [] }, resources: [{ service: 'web', cpu: 500, memory: 268435456, storage: [], gpu: { units: 0, models: [] }, count: 1, price: { denom: 'uakt', amount: '10' } }], maxPrice: { denom: 'uakt', amount: '10' } }],
  manifestHash: sha256(new Uint8Array([i & 255, i >> 8])),
  bidDeadline: Date.now() + 300_000
})
const msgs = Array.from({ length: M }, (_, i) => signMessage<OrderBody>(keys[i % keys.length], MessageTag.ORDER, body(i)))

// what one signature check costs here, for scale
let t = performance.now()
for (let i = 0; i < 2000; i++) verify(msgs[i % M].sig, msgs[i % M].payload, msgs[i % M].signer)
const verifyUs = (performance.now() - t) * 1000 / 2000

const idle0 = process.cpuUsage()
t = Date.now()
await sleep(2000)
const idle = process.cpuUsage(idle0)
const idleUsPerMs = (idle.user + idle.system) / (Date.now() - t)

const c0 = process.cpuUsage()
const t0 = Date.now()
for (let i = 0; i < M; i++) {
  await nodes[0].gossip.publish(Topic.ORDERS, msgs[i])
  const wait = t0 + (i + 1) * 1000 / RATE - Date.now()
  if (wait > 0) await sleep(wait)
}
for (let w = 0; w < 200 && delivered < M * (K - 1); w++) await sleep(50)
const c = process.cpuUsage(c0)
const cpuUs = c.user + c.system - idleUsPerMs * (Date.now() - t0)
for (const n of nodes) await n.stop()
console.log(`gossip-hop nodes=${K} rate=${RATE} delivered=${delivered}/${M * (K - 1)} cpu_us_per_delivery=${Math.round(cpuUs / Math.max(1, delivered))} verify_us=${verifyUs.toFixed(1)} bytes=${msgs[0].bytes.length}`)
