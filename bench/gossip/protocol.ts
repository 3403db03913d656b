// Messages between the gossip benchmark's coordinator and its worker processes (IPC).
import type { GossipConfig } from '../../src/net/index.ts'

export type ToWorker =
  | { type: 'start', nodes: number, gossip: GossipConfig }
  | { type: 'dial', plan: Array<{ node: number, addrs: string[] }> }
  | { type: 'mesh?' }
  | { type: 'rss?' }
  | { type: 'cpu?' }
  | { type: 'publish', node: number }
  | { type: 'report?' }
  | { type: 'stop' }

export type FromWorker =
  | { type: 'started', addrs: string[] }
  | { type: 'dialed', failures: number }
  | { type: 'mesh', ready: number, minMesh: number, meshPeers: number, connections: number }
  | { type: 'rss', rss: number, heapUsed: number, nodes: number }
  | { type: 'published', id: string, recipients: number }
  | { type: 'report', latencies: number[], created: number[], received: Record<string, number>, publishErrors: number }
  | { type: 'cpu', userMs: number, systemMs: number }
  | { type: 'stopped' }
  | { type: 'error', message: string }
