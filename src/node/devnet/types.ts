// What a devnet is: its nodes and how they are wired, as kept in DIR/devnet.json.
import type { ProfileName, Region } from '../../net/wan/index.ts'

export interface DevnetNode {
  name: string
  role: 'validator' | 'provider' | 'tenant'
  home: string
  peerId: string
  port: number
  pid?: number
  owner?: string
  /** the node's network namespace and address there, when the devnet runs in namespaces */
  netns?: string
  ip?: string
  /** its region when the devnet emulates a wide-area network */
  region?: Region
  /** behind the devnet's NAT router: reachable only through the relay */
  natted?: boolean
  /** runs a circuit relay v2 server for the node behind NAT */
  relay?: boolean
}

export interface DevnetNetns {
  /** short random tag in every namespace and interface name of this devnet */
  tag: string
  /** the namespace holding the bridge */
  hub: string
  /** links cut, as pairs of node names */
  cuts: Array<[string, string]>
  /** the namespace of the NAT router, when one node sits behind NAT */
  router?: string
}

export interface DevnetState {
  dir: string
  createdAt: number
  nodes: DevnetNode[]
  netns?: DevnetNetns
  /** nodes start with SOUK_CRASH_FILE=<home>/crash-point */
  crashPoints?: boolean
  dockerHost?: string
  /** flags for the node binary itself, before the script (e.g. --trace-gc, which NODE_OPTIONS refuses) */
  nodeFlags?: string[]
  /** the emulated wide-area network every node dials through */
  wan?: { profile: ProfileName, seed: number }
}

export type DevnetProgress = { type: 'devnet:image', detail: { image: string, built: boolean } }
  | { type: 'devnet:node-started', detail: { name: string, peerId: string } }
  | { type: 'devnet:ready', detail: { nodes: number } }

export interface DevnetOptions {
  validators?: number
  providers?: number
  dockerHost?: string
  bidWindowMs?: number
  /** each node in a network namespace of its own (needs root and iproute2) */
  netns?: boolean
  /** every node may be armed with a crash point by writing it to HOME/crash-point (fault testing) */
  crashPoints?: boolean
  /** extra settings per role, written into its section of souk.yaml (`committee` for validators), e.g. { provider: { manifestTimeoutMs: 10000 } } */
  settings?: Partial<Record<'validator' | 'provider' | 'tenant', Record<string, string | number>>>
  /** flags for the node binary itself, kept for every restart (e.g. ['--trace-gc'] for a soak) */
  nodeFlags?: string[]
  /**
   * every node dials through an emulated wide-area network of this profile (docs/wan-emulation.md),
   * spread round robin over its regions (validators first, so the committee spans them)
   */
  wan?: { profile: ProfileName, seed?: number }
  /**
   * the last provider sits behind a NAT router (needs netns): it can dial out, nothing can dial in,
   * and it is reached through a circuit relay on validator-0
   */
  nat?: boolean
  onProgress?: (e: DevnetProgress) => void
  signal?: AbortSignal
}

export interface DevnetNodeStatus { name: string, role: string, peerId: string, pid?: number, running: boolean, peers?: number, home: string, netns?: string, ip?: string }

/** the part of a node's answer to GET /v1/node the devnet reads */
export interface NodeAnswer { peers: number, reachability?: string }
