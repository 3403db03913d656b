// Shared pieces of the net suites: signed test messages, nodes on loopback, bounded waiting.
import { signMessage, MessageTag, sha256 } from '../../src/wire/index.ts'
import type { SignedMessage, OrderBody, SignOptions } from '../../src/wire/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import type { Identity } from '../../src/identity/index.ts'
import { createSoukLibp2p } from '../../src/net/index.ts'
import type { SoukNode, SoukNetConfig } from '../../src/net/index.ts'

export function orderBody (manifest: Uint8Array = new TextEncoder().encode('{"services":{}}'), createdAt = Date.now()): OrderBody {
  return {
    groups: [{
      name: 'web',
      attributes: {},
      signedBy: { allOf: [], anyOf: [] },
      resources: [{
        service: 'web',
        cpu: 500,
        memory: 256 * 1024 * 1024,
        storage: [],
        gpu: { units: 0, models: [] },
        count: 1,
        price: { denom: 'uakt', amount: '10' }
      }],
      maxPrice: { denom: 'uakt', amount: '10' }
    }],
    manifestHash: sha256(manifest),
    bidDeadline: createdAt + 60_000
  }
}

export function signOrder (id: Identity, opts: SignOptions = {}, manifest: Uint8Array = new TextEncoder().encode('{"services":{}}')): SignedMessage<OrderBody> {
  return signMessage(id, MessageTag.ORDER, orderBody(manifest, opts.createdAt), opts)
}

/** Polls `cond` every 25 ms until it holds or `ms` passes; returns whether it held. */
export async function waitFor (cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await cond()) return true
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return await cond()
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export function loopbackConfig (extra: SoukNetConfig = {}): SoukNetConfig {
  return {
    listen: ['/ip4/127.0.0.1/tcp/0'],
    testNetwork: true,
    autonat: false,
    dcutr: false,
    minConnections: 0,
    ...extra,
    gossip: { heartbeatMs: 200, ...extra.gossip }
  }
}

export async function startNode (extra: SoukNetConfig = {}): Promise<SoukNode> {
  return await createSoukLibp2p(loopbackConfig({ identity: generateIdentity(), ...extra }))
}

export async function stopAll (nodes: Array<SoukNode | undefined>): Promise<void> {
  await Promise.allSettled(nodes.map(async (n) => await n?.stop()))
}

/** true once every node has at least `min` peers in its mesh for `topic` */
export async function meshReady (nodes: SoukNode[], topic: string, min = 1, ms = 10_000): Promise<boolean> {
  return await waitFor(() => nodes.every((n) => n.gossip.meshPeers(topic).length >= min), ms)
}

/** true once `node` knows that each of `peers` subscribes to `topic` */
export async function subscribedTo (node: SoukNode, peers: SoukNode[], topic: string, ms = 10_000): Promise<boolean> {
  return await waitFor(() => {
    const subs = new Set(node.gossip.subscribers(topic).map(String))
    return peers.every((p) => subs.has(p.peerId.toString()))
  }, ms)
}
