// A small souk network on loopback for attack tests: four validators, a provider and a tenant,
// each a full node (createNode), and an attacker that is only a libp2p node publishing raw bytes.
// The tenant places honest orders with `honestLease`, which resolves once the order is leased.
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createNode } from '../../src/node/create-node.ts'
import type { Souk } from '../../src/node/create-node.ts'
import { genesisCommitteeFile } from '../../src/committee/index.ts'
import { createLogger } from '../../src/node/logger.ts'
import { defaultConfig } from '../../src/config/index.ts'
import type { SoukConfig, Role } from '../../src/config/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import type { Identity } from '../../src/identity/index.ts'
import { createSoukLibp2p, Topic } from '../../src/net/index.ts'
import type { SoukNode } from '../../src/net/index.ts'
import { signMessage, MessageTag } from '../../src/wire/index.ts'
import type { OrderBody, SignedMessage } from '../../src/wire/index.ts'
import { buildOrder } from '../../src/market/index.ts'
import { loadSdl } from '../../src/sdl/index.ts'
import { dockerRuntime, dockerClient } from '../../src/runtime/index.ts'

export const web = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')

export interface Cluster {
  validators: Souk[]
  provider: Souk
  tenant: Souk
  attacker: SoukNode
  /** every full node */
  nodes: Souk[]
  instance: string
  stop: () => Promise<void>
}

export interface ClusterOptions {
  /** how often the provider sends usage statements (ms) */
  usageIntervalMs?: number
}

function cfg (roles: Role[], bootstrap: string[], opts: ClusterOptions = {}): SoukConfig {
  const c = defaultConfig()
  c.roles = roles
  c.network.listen = ['/ip4/127.0.0.1/tcp/0']
  c.network.bootstrap = bootstrap
  c.network.testNetwork = true
  c.tenant.bidWindowMs = 1500
  c.provider.attributes = { region: 'local' }
  c.provider.prices = { cpu: '100', memory: '10', storage: '1', gpu: '1000', endpoint: '0' }
  // a provider large enough that capacity is never what an attack exhausts
  c.provider.cpu = 64_000
  c.provider.memory = 256 * 2 ** 30
  c.provider.usageIntervalMs = opts.usageIntervalMs ?? 300
  c.log.level = 'error'
  return c
}

export async function startCluster (opts: ClusterOptions = {}): Promise<Cluster> {
  const root = mkdtempSync(join(tmpdir(), 'souk-attack-'))
  const logger = createLogger({ level: 'error', destination: process.stderr })
  const ids = Array.from({ length: 4 }, () => generateIdentity())
  const committee = [genesisCommitteeFile(ids)]
  const nodes: Souk[] = []
  let boot: string[] = []
  const instance = `souk-attack-${randomBytes(4).toString('hex')}`
  try {
    for (const [i, id] of ids.entries()) {
      const n = await createNode({ home: join(root, `v${i}`), config: cfg(['validator'], boot, opts), identity: id, committee, logger })
      nodes.push(n)
      if (i === 0) boot = n.net.multiaddrs().slice(0, 1)
    }
    const runtime = dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance, pull: 'never' })({})
    const provider = await createNode({ home: join(root, 'p'), config: cfg(['provider'], boot, opts), committee, logger, runtime })
    nodes.push(provider)
    const tenant = await createNode({ home: join(root, 't'), config: cfg(['tenant'], boot, opts), committee, logger })
    nodes.push(tenant)
    // the attacker is every node's direct gossip peer, so what it publishes reaches each of them first hand
    const attacker = await createSoukLibp2p({
      identity: generateIdentity(),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: boot,
      testNetwork: true,
      autonat: false,
      dcutr: false,
      minConnections: 0,
      gossip: { directPeers: nodes.map((n) => n.net.multiaddrs()[0]) }
    })
    for (const n of nodes) await attacker.dial(n.net.multiaddrs()[0]).catch(() => {})
    const ready = (): boolean => tenant.net.gossip.meshPeers(Topic.ORDERS).length > 0 && provider.net.gossip.meshPeers(Topic.BIDS).length > 0 &&
      nodes.every((n) => attacker.gossip.subscribers(Topic.ORDERS).some((p) => p.equals(n.net.peerId)))
    for (let i = 0; i < 150 && !ready(); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    return {
      validators: nodes.slice(0, 4),
      provider,
      tenant,
      attacker,
      nodes,
      instance,
      async stop () {
        await attacker.stop().catch(() => {})
        for (const n of [...nodes].reverse()) await n.stop().catch(() => {})
        rmSync(root, { recursive: true, force: true })
        await removeContainers(instance)
      }
    }
  } catch (err) {
    for (const n of nodes.reverse()) await n.stop().catch(() => {})
    rmSync(root, { recursive: true, force: true })
    throw err
  }
}

/**
 * an order the provider can serve, signed by the tenant node's key; its bid window leaves the
 * committee room on a machine busy with an attack (and with other work)
 */
export function honestOrder (tenant: Souk, bidWindowMs = 4000): SignedMessage<OrderBody> {
  return signMessage<OrderBody>(tenant.identity, MessageTag.ORDER, buildOrder(loadSdl(web), { bidWindowMs, now: Date.now() }))
}

/** publishes an honest order and resolves with what became of it */
export async function placeOrder (tenant: Souk, order = honestOrder(tenant), timeoutMs = 60_000): Promise<{ order: SignedMessage<OrderBody>, outcome: string }> {
  tenant.book.record(order)
  await tenant.net.gossip.publish(Topic.ORDERS, order)
  try {
    const o = await tenant.book.outcome(order.idHex, { signal: AbortSignal.timeout(timeoutMs) })
    return { order, outcome: o.kind === 'lease' ? 'lease' : `expired: ${o.expiry.code} ${o.expiry.reason}` }
  } catch {
    return { order, outcome: `no outcome within ${timeoutMs} ms` }
  }
}

/** raw bytes on a topic, as the attacker's gossipsub sends them (nothing checks them on the way out) */
export async function publishRaw (attacker: SoukNode, topic: string, data: Uint8Array): Promise<void> {
  await attacker.libp2p.services.pubsub.publish(topic, data).catch(() => {})
}

export function keys (n: number): Identity[] {
  return Array.from({ length: n }, () => generateIdentity())
}

/** whatever a test left running under this cluster's instance label */
async function removeContainers (instance: string): Promise<void> {
  const host = process.env.DOCKER_HOST
  if (host == null || host === '') return
  const docker = dockerClient(host)
  try {
    for (const ct of await docker.listContainers({ all: true, filters: { label: [`souk.instance=${instance}`] } })) await docker.getContainer(ct.Id).remove({ force: true }).catch(() => {})
  } catch {}
}

export function heapMb (): number {
  return Math.round(process.memoryUsage().heapUsed / 2 ** 20)
}
