// An emulated network: which region each node is in, and from that, the dial settings of each
// node. `WanSettings` is plain data (it can be written into a node's configuration file); the
// devnet and the benchmarks build one per node with `wanNetwork`.
import { WanError, WanErrorCode } from './errors.ts'
import { wanProfile } from './profiles.ts'
import type { ProfileName } from './profiles.ts'
import { checkRegion, spreadRegion } from './regions.ts'
import type { Region } from './regions.ts'
import type { PathLinks, TcpTarget, WanDialInit } from './transport.ts'

/** What one node needs to shape its dials. */
export interface WanSettings {
  profile: ProfileName
  seed: number
  /** this node's region */
  region: Region
  /** the region of every listener it may dial, by `host:port` */
  peers: Record<string, Region>
}

export interface WanNode {
  name: string
  /** default: spread round robin over the regions in the order given */
  region?: Region
  host: string
  port: number
}

export interface WanNetwork {
  profile: ProfileName
  seed: number
  nodes: Array<Required<WanNode>>
  /** the settings of the node called `name` */
  settingsFor: (name: string) => WanSettings
}

const MAX_PEERS = 100_000

/** Assigns regions (when not given) and derives every node's settings. */
export function wanNetwork (init: { profile: ProfileName, seed?: number, nodes: WanNode[] }): WanNetwork {
  wanProfile(init.profile)
  if (!Array.isArray(init.nodes) || init.nodes.length > MAX_PEERS) throw new WanError(WanErrorCode.BAD_ADDRESS, `nodes must be a list of at most ${MAX_PEERS}`)
  const seed = init.seed ?? 1
  const nodes = init.nodes.map((n, i) => ({ ...n, region: n.region != null ? checkRegion(n.region, `node ${n.name}'s region`) : spreadRegion(i) }))
  const peers: Record<string, Region> = {}
  for (const n of nodes) peers[`${n.host}:${n.port}`] = n.region
  return {
    profile: init.profile,
    seed,
    nodes,
    settingsFor: (name) => {
      const n = nodes.find((x) => x.name === name)
      if (n == null) throw new WanError(WanErrorCode.BAD_ADDRESS, `no node called ${JSON.stringify(name)} in the WAN plan`)
      return { profile: init.profile, seed, region: n.region, peers }
    }
  }
}

/** Checks settings read from a file; throws a WanError naming what is wrong. */
export function checkWanSettings (v: unknown): WanSettings {
  if (v == null || typeof v !== 'object') throw new WanError(WanErrorCode.BAD_ADDRESS, 'WAN settings must be an object')
  const s = v as WanSettings
  wanProfile(s.profile)
  if (typeof s.seed !== 'number' || !Number.isInteger(s.seed) || s.seed < 0 || s.seed > 0xffffffff) throw new WanError(WanErrorCode.BAD_LINK, 'WAN seed must be an integer from 0 to 4294967295')
  checkRegion(s.region)
  if (s.peers == null || typeof s.peers !== 'object') throw new WanError(WanErrorCode.BAD_ADDRESS, 'WAN peers must map host:port to a region')
  const entries = Object.entries(s.peers)
  if (entries.length > MAX_PEERS) throw new WanError(WanErrorCode.BAD_ADDRESS, `WAN peers: at most ${MAX_PEERS}`)
  for (const [k, r] of entries) {
    if (!/^[^\s]{1,253}:\d{1,5}$/.test(k)) throw new WanError(WanErrorCode.BAD_ADDRESS, `WAN peer ${JSON.stringify(k)} is not host:port`)
    checkRegion(r, `WAN peer ${k}'s region`)
  }
  return s
}

/** The dial settings of the transport wrapper for one node. */
export function wanDialInit (settings: WanSettings, name = ''): WanDialInit {
  const s = checkWanSettings(settings)
  const profile = wanProfile(s.profile)
  return {
    seed: s.seed,
    name: name !== '' ? name : s.region,
    pathTo: (t: TcpTarget): PathLinks | undefined => {
      const r = s.peers[`${t.host}:${t.port}`]
      if (r == null) return undefined
      return { out: profile.link(s.region, r), back: profile.link(r, s.region) }
    }
  }
}
