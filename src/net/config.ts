// The network node's configuration, checked up front: a bad value is a NetError naming its path
// (`net.bootstrap[2]`), never a failure deep inside libp2p.
import { multiaddr } from '@multiformats/multiaddr'
import type { Identity } from '../identity/index.ts'
import type { ReplayWindowInit } from '../wire/index.ts'
import { NetError, NetErrorCode } from './errors.ts'
import { errorMessage } from '../util/index.ts'
import type { TopicPolicies } from './validator.ts'
import type { PenaltyBookInit } from './penalties.ts'
import type { ProtocolLogger } from './protocols/define-protocol.ts'
import type { NetMetrics } from './metrics.ts'
import { checkWanSettings } from './wan/index.ts'
import type { WanSettings } from './wan/index.ts'
import type { OpenOrdersSource, ClosesSource } from './protocols/sync.ts'

export interface RelayConfig {
  /** act as a circuit relay v2 server for other nodes */
  server?: boolean
  /** reservations the server holds at most */
  maxReservations?: number
  /** limit each relayed connection (default true); false relays without limits */
  limitCircuits?: boolean
  /** bytes a relayed connection may carry (default 16 MiB: a manifest frame is up to 1 MiB; libp2p's own default is 128 KiB) */
  circuitDataLimitBytes?: number
  /** how long a relayed connection may last, ms (default 10 minutes) */
  circuitDurationMs?: number
  /** relay multiaddrs (with /p2p/<id>) to reserve a slot on, so this node is reachable through them */
  reserveOn?: string[]
}

export interface GossipConfig {
  /** topics, accepted tags and rate limits; defaults to DEFAULT_TOPIC_POLICIES */
  topics?: TopicPolicies
  /** peers kept as gossipsub direct peers (committee members): multiaddrs ending in /p2p/<id> */
  directPeers?: string[]
  /** mesh degree and bounds */
  D?: number
  Dlo?: number
  Dhi?: number
  heartbeatMs?: number
  /** peers outside the mesh told, each heartbeat, which messages this node has (IHAVE) */
  Dlazy?: number
  /** share of the non-mesh peers told as well, when more than Dlazy (0 to 1) */
  gossipFactor?: number
  /** heartbeats of recent message IDs those IHAVE announcements carry */
  mcacheGossip?: number
  /** send this node's own messages to every subscribed peer, not only the mesh */
  floodPublish?: boolean
  /** how long gossipsub remembers message IDs it has seen, ms (the replay window remembers longer) */
  seenTtlMs?: number
  /** ed25519 path for gossip verification */
  verifier?: 'native' | 'noble'
  /** rate-limit refusals beyond the burst after which the sender earns penalty points */
  sustainedOverflow?: number
  penalties?: PenaltyBookInit
  /** replay windows (capacity per topic comes from the topic policies) */
  replay?: Omit<ReplayWindowInit, 'capacity'>
  /** per forwarding peer: messages from keys this node has not checked before */
  newKeyLimit?: { perSecond: number, burst: number }
  /** score points per squared invalid message (negative) */
  invalidMessageWeight?: number
}

export interface SoukNetConfig {
  /** the node's key; when absent it is loaded from (or created in) `dataDir` */
  identity?: Identity
  /** peer store, DHT records and (without `identity`) the key live here; in memory when absent */
  dataDir?: string
  /** listen multiaddrs; default `/ip4/0.0.0.0/tcp/0` and `/ip4/0.0.0.0/tcp/0/ws` */
  listen?: string[]
  /** addresses announced instead of the listen ones */
  announce?: string[]
  /** multiaddrs ending in /p2p/<id> */
  bootstrap?: string[]
  mdns?: boolean
  /**
   * a test network on one machine or LAN: DHT in server mode, private and loopback addresses
   * kept in DHT answers, loopback exempt from inbound rate limits and IP colocation penalties
   */
  testNetwork?: boolean
  dht?: { clientMode?: boolean }
  relay?: RelayConfig
  /** AutoNAT address checks (default true) */
  autonat?: boolean
  /** hole punching through relayed connections (default true) */
  dcutr?: boolean
  gossip?: GossipConfig
  /** below this many connections the node dials peers it knows */
  minConnections?: number
  maxConnections?: number
  metrics?: NetMetrics
  /** where stream protocols log refusals and failures (libp2p's debug logger when absent) */
  logger?: ProtocolLogger
  /** serves /souk/sync/1.0.0 with these open orders */
  openOrders?: OpenOrdersSource
  /** an emulated wide-area network on one machine: every TCP dial to a listed peer is shaped (docs/wan-emulation.md) */
  wan?: WanSettings
  /** and with these Closes of leases (without it, closes requests get an empty answer) */
  closes?: ClosesSource
  /** and, for the leases topic, with these envelopes that decided recent orders */
  outcomes?: OpenOrdersSource
}

function fail (path: string, message: string): never {
  throw new NetError(NetErrorCode.CONFIG, message, path)
}

function checkAddrs (v: unknown, path: string, needPeer: boolean): void {
  if (v === undefined) return
  if (!Array.isArray(v)) fail(path, 'must be a list of multiaddrs')
  if (v.length > 256) fail(path, 'at most 256 entries')
  v.forEach((a, i) => {
    if (typeof a !== 'string') fail(`${path}[${i}]`, 'must be a string')
    let ma
    try {
      ma = multiaddr(a)
    } catch (err) {
      fail(`${path}[${i}]`, `not a multiaddr (${errorMessage(err).slice(0, 100)})`)
    }
    if (needPeer && ma.getComponents().findLast((c) => c.name === 'p2p') == null) fail(`${path}[${i}]`, 'must end in /p2p/<peer id>')
  })
}

function checkInt (v: unknown, path: string, min: number, max: number): void {
  if (v === undefined) return
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(path, `must be an integer from ${min} to ${max}`)
}

/** Throws a NetError naming the first bad field. `prefix` is the config's own path. */
export function validateNetConfig (c: SoukNetConfig, prefix = 'net'): void {
  if (c == null || typeof c !== 'object') fail(prefix, 'must be an object')
  const p = (k: string): string => `${prefix}.${k}`
  if (c.dataDir !== undefined && (typeof c.dataDir !== 'string' || c.dataDir.length === 0)) fail(p('dataDir'), 'must be a non-empty path')
  checkAddrs(c.listen, p('listen'), false)
  checkAddrs(c.announce, p('announce'), false)
  checkAddrs(c.bootstrap, p('bootstrap'), true)
  checkAddrs(c.relay?.reserveOn, p('relay.reserveOn'), true)
  checkAddrs(c.gossip?.directPeers, p('gossip.directPeers'), true)
  checkInt(c.minConnections, p('minConnections'), 0, 10_000)
  checkInt(c.maxConnections, p('maxConnections'), 1, 100_000)
  checkInt(c.relay?.maxReservations, p('relay.maxReservations'), 1, 100_000)
  checkInt(c.relay?.circuitDataLimitBytes, p('relay.circuitDataLimitBytes'), 0, Number.MAX_SAFE_INTEGER)
  checkInt(c.relay?.circuitDurationMs, p('relay.circuitDurationMs'), 0, 7 * 24 * 3600_000)
  if (c.wan !== undefined) {
    try { checkWanSettings(c.wan) } catch (err) { fail(p('wan'), errorMessage(err)) }
  }
  const g = c.gossip
  if (g != null) {
    checkInt(g.D, p('gossip.D'), 1, 64)
    checkInt(g.Dlo, p('gossip.Dlo'), 1, 64)
    checkInt(g.Dhi, p('gossip.Dhi'), 1, 128)
    checkInt(g.heartbeatMs, p('gossip.heartbeatMs'), 50, 60_000)
    checkInt(g.Dlazy, p('gossip.Dlazy'), 0, 64)
    if (g.gossipFactor !== undefined && !(typeof g.gossipFactor === 'number' && g.gossipFactor >= 0 && g.gossipFactor <= 1)) fail(p('gossip.gossipFactor'), 'must be a number from 0 to 1')
    checkInt(g.mcacheGossip, p('gossip.mcacheGossip'), 1, 5)
    if (g.floodPublish !== undefined && typeof g.floodPublish !== 'boolean') fail(p('gossip.floodPublish'), 'must be true or false')
    checkInt(g.seenTtlMs, p('gossip.seenTtlMs'), 100, 3_600_000)
    if (g.verifier !== undefined && g.verifier !== 'native' && g.verifier !== 'noble') fail(p('gossip.verifier'), 'must be "native" or "noble"')
    if (g.invalidMessageWeight !== undefined && !(typeof g.invalidMessageWeight === 'number' && g.invalidMessageWeight <= 0)) fail(p('gossip.invalidMessageWeight'), 'must be a number <= 0')
    for (const [topic, pol] of Object.entries(g.topics ?? {})) {
      const tp = p(`gossip.topics["${topic}"]`)
      if (!topic.startsWith('/souk/')) fail(tp, 'souk topics start with /souk/')
      if ((pol.tags?.length ?? 0) + (pol.tagPrefixes?.length ?? 0) === 0) fail(tp, 'needs tags or tagPrefixes')
      for (const [k, lim] of [['signerLimit', pol.signerLimit], ['peerLimit', pol.peerLimit]] as const) {
        if (lim == null) continue
        if (!(lim.perSecond > 0)) fail(`${tp}.${k}.perSecond`, 'must be > 0')
        if (!(lim.burst >= 1)) fail(`${tp}.${k}.burst`, 'must be >= 1')
      }
    }
  }
}
