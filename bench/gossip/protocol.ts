// Messages between the gossip benchmark's coordinator and its worker processes (IPC).
import type { GossipConfig } from '../../src/net/index.ts'
import type { ProfileName, Region } from '../../src/net/wan/index.ts'

export interface WanChoice { profile: ProfileName, seed: number }

export type ToWorker =
  | { type: 'start', nodes: number, first: number, gossip: GossipConfig, wan?: WanChoice }
  /** the region of every listener, by host:port (WAN runs only) */
  | { type: 'regions', peers: Record<string, Region> }
  | { type: 'dial', plan: Array<{ node: number, addrs: string[] }> }
  | { type: 'mesh?' }
  | { type: 'rss?' }
  | { type: 'cpu?' }
  | { type: 'bytes?' }
  | { type: 'count?' }
  | { type: 'publish', node: number }
  | { type: 'provide', nodes: number[] }
  | { type: 'find', node: number, timeoutMs: number }
  | { type: 'join', index: number, bootstrap: string[], timeoutMs: number }
  | { type: 'report?' }
  | { type: 'stop' }

export type FromWorker =
  | { type: 'started', addrs: string[] }
  | { type: 'dialed', failures: number }
  | { type: 'mesh', ready: number, minMesh: number, meshPeers: number, connections: number }
  | { type: 'rss', rss: number, heapUsed: number, nodes: number }
  | { type: 'bytes', bytes: number }
  | { type: 'count', deliveries: number }
  | { type: 'published', id: string, recipients: number, size: number }
  | { type: 'provided', ms: number, failures: number }
  /** ms to the first provider; hops: depth in the lookup of the peer that named it (1: a peer the finder already knew) */
  | { type: 'found', ms: number, hops: number, queries: number, found: boolean }
  | { type: 'joined', meshMs: number, syncMs: number, joinMs: number, synced: number, connections: number, error?: string }
  | { type: 'report', latencies: number[], created: number[], received: Record<string, number>, publishErrors: number }
  | { type: 'cpu', userMs: number, systemMs: number }
  | { type: 'stopped' }
  | { type: 'error', message: string }
