// createSoukLibp2p: the libp2p node every souk role runs — tcp and websockets, noise, yamux,
// identify, ping, gossipsub with the souk validators and scoring, kad-dht on souk's own protocol
// ID, bootstrap and optional mDNS, AutoNAT, circuit relay v2 and DCUtR — plus the souk stream
// protocols on top. Peer store and DHT records persist in the data directory.
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { createLibp2p } from 'libp2p'
import type { Libp2pInit, ServiceFactoryMap } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { noise } from '@chainsafe/libp2p-noise'
import { noiseCrypto } from './noise-crypto.ts'
import { relayKeeper } from './relay-keeper.ts'
import { freshDialAutoNAT } from './autonat.ts'
import { yamux } from '@chainsafe/libp2p-yamux'
import { applyYamuxWindowRule } from './yamux-window.ts'
import { applyLengthPrefixRule } from './length-prefix.ts'
import { identify, identifyPush } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { withCoalescedWrites } from './coalesce.ts'
import { gossipsub } from '@libp2p/gossipsub'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import { bootstrap } from '@libp2p/bootstrap'
import { mdns } from '@libp2p/mdns'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { FaultTolerance } from '@libp2p/interface'
import type { Libp2p, PeerId, PeerDiscovery, Connection } from '@libp2p/interface'
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub'
import type { KadDHT, KadDHTInit } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { LevelDatastore } from 'datastore-level'
import { ReplayWindows } from '../wire/index.ts'
import type { SignedMessage, ManifestFrame } from '../wire/index.ts'
import { loadOrCreateKey, generateIdentity } from '../identity/index.ts'
import type { Identity } from '../identity/index.ts'
import { wanDialInit, wanTransport } from './wan/index.ts'
import { FLOOD_PUBLISH, GOSSIP_FACTOR, HEARTBEAT_INTERVAL_MS, MCACHE_GOSSIP, MESH_D, MESH_D_HI, MESH_D_LAZY, MESH_D_LO, MIN_CONNECTIONS, PEER_KEEPER_INTERVAL_MS, Protocol, RELAY_CIRCUIT_DATA_LIMIT, RELAY_CIRCUIT_DURATION_MS, RELAY_RESERVATION_TIMEOUT_MS } from './constants.ts'
import { validateNetConfig } from './config.ts'
import type { SoukNetConfig } from './config.ts'
import { gossipValidator, DEFAULT_TOPIC_POLICIES } from './validator.ts'
import { gossipMessageId, messageIdToString } from './message-id.ts'
import { gossipsubPubSub } from './pubsub.ts'
import { soukGossip } from './gossip.ts'
import type { SoukGossip } from './gossip.ts'
import { PenaltyBook } from './penalties.ts'
import { scoreParams, DEFAULT_SCORE_THRESHOLDS } from './scoring.ts'
import { memoryMetrics } from './metrics.ts'
import type { NetMetrics } from './metrics.ts'
import type { ProtocolLogger } from './protocols/define-protocol.ts'
import { findRole, provideRole, stopProvidingRole } from './discovery.ts'
import type { RolePeer } from './discovery.ts'
import { handleSync, syncOrders, syncCloses } from './protocols/sync.ts'
import type { SyncOptions, SyncResult, SyncClosesResult } from './protocols/sync.ts'
import { handleManifest, sendManifest } from './protocols/manifest.ts'
import type { ManifestHandlerInit, ManifestResult, SendManifestOptions } from './protocols/manifest.ts'
import { handleLease, leaseRequest } from './protocols/lease.ts'
import { bootstrapWatch } from './bootstrap-check.ts'
import type { BootstrapWatch } from './bootstrap-check.ts'
import { handleTime, peerClockOffset } from './protocols/time.ts'
import type { ClockOffset } from './protocols/time.ts'
import type { LeaseHandlerInit, LeaseRequest, LeaseRequestOptions, LeaseResponse } from './protocols/lease.ts'

export interface SoukServices extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  dht: KadDHT
}

export interface SoukNode {
  readonly libp2p: Libp2p<SoukServices>
  readonly peerId: PeerId
  readonly identity: Identity
  readonly gossip: SoukGossip
  readonly metrics: NetMetrics
  /** where stream protocols log refusals and failures (libp2p's debug logger when absent) */
  readonly logger?: ProtocolLogger
  /** replay windows, one per topic */
  readonly replay: ReplayWindows
  readonly penalties: PenaltyBook
  /** each bootstrap address: reached, or why not */
  readonly bootstrap: BootstrapWatch
  /** how far a peer's clock is from this node's (the time protocol) */
  clockOffset: (peer: PeerId, opts?: { signal?: AbortSignal }) => Promise<ClockOffset>
  /** the node's dialable addresses, each ending in /p2p/<id> */
  multiaddrs: () => string[]
  dial: (target: string | PeerId | Multiaddr, opts?: { signal?: AbortSignal }) => Promise<Connection>
  /** announce a role in the DHT */
  provideRole: (role: string, opts?: { signal?: AbortSignal }) => Promise<void>
  stopProvidingRole: (role: string) => Promise<void>
  findRole: (role: string, opts?: { signal?: AbortSignal, limit?: number }) => Promise<RolePeer[]>
  /** pull open orders from a peer; accepted ones reach the orders handlers */
  syncOrders: (peer: PeerId, opts?: SyncOptions) => Promise<SyncResult>
  /** ask a peer for the Closes it knows of these leases (verified; the caller checks who signed) */
  syncCloses: (peer: PeerId, leases: Uint8Array[], opts?: { signal?: AbortSignal }) => Promise<SyncClosesResult>
  handleManifest: (init: ManifestHandlerInit) => Promise<() => Promise<void>>
  sendManifest: (provider: PeerId, frame: ManifestFrame, opts?: SendManifestOptions) => Promise<ManifestResult>
  handleLease: (init: LeaseHandlerInit) => Promise<() => Promise<void>>
  leaseRequest: (provider: PeerId, request: LeaseRequest, opts?: LeaseRequestOptions) => AsyncGenerator<LeaseResponse>
  stop: () => Promise<void>
}

/** gossipsub spreads options over its defaults, so an undefined value would erase a default */
function defined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
}

function peerOf (addr: string): { id: PeerId, ma: Multiaddr, address: string } {
  const ma = multiaddr(addr)
  const p = ma.getComponents().findLast((c) => c.name === 'p2p')
  return { id: peerIdFromString(p?.value ?? ''), ma, address: addr }
}

/** Creates and starts a souk network node. */
export async function createSoukLibp2p (config: SoukNetConfig = {}): Promise<SoukNode> {
  validateNetConfig(config)
  const testNet = config.testNetwork === true
  applyYamuxWindowRule()
  applyLengthPrefixRule()
  let identity = config.identity
  let datastore: LevelDatastore | undefined
  if (config.dataDir != null) {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
    identity ??= await loadOrCreateKey(config.dataDir)
    datastore = new LevelDatastore(join(config.dataDir, 'datastore'))
    await datastore.open()
  }
  identity ??= generateIdentity()

  const metrics = config.metrics ?? memoryMetrics()
  const g = config.gossip ?? {}
  const topics = g.topics ?? DEFAULT_TOPIC_POLICIES
  const replay = new ReplayWindows({
    ...g.replay,
    capacity: Object.fromEntries(Object.entries(topics).filter(([, p]) => p.replayCapacity != null).map(([t, p]) => [t, p.replayCapacity as number]))
  })
  const penalties = new PenaltyBook(g.penalties)
  const validator = gossipValidator({ topics, sustainedOverflow: g.sustainedOverflow, verifier: g.verifier, newKeyLimit: g.newKeyLimit })({ replay, penalties, metrics })

  // a configured relay is listened on at start, so the node's very first identify already
  // carries its relayed address (peers that learn of it then keep what they learned); when that
  // single attempt fails, or the slot is lost later, the relay keeper reserves again
  const listen = [...(config.listen ?? ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws'])]
  for (const r of config.relay?.reserveOn ?? []) listen.push(`${r}/p2p-circuit`)

  const peerDiscovery: NonNullable<Libp2pInit['peerDiscovery']> = []
  if ((config.bootstrap?.length ?? 0) > 0) peerDiscovery.push(bootstrap({ list: config.bootstrap!, timeout: 100 }))
  if (config.mdns === true) peerDiscovery.push(mdns({ serviceTag: '_souk._udp.local' }))

  // a configured D brings bounds around it unless they are given too
  const meshD = g.D ?? MESH_D
  const mesh = { D: meshD, Dlo: g.Dlo ?? (g.D != null ? Math.max(1, meshD - 1) : MESH_D_LO), Dhi: g.Dhi ?? (g.D != null ? meshD * 2 : MESH_D_HI) }

  const services: ServiceFactoryMap<SoukServices> = {
    identify: identify(),
    // protocols a role registers after the network is up (a provider's explain, lease and manifest
    // handlers) reach peers that connected before: a provider restarting with the same peer ID is
    // redialled by its tenants at once, and without a push they would go on believing it has none
    identifyPush: identifyPush(),
    ping: ping(),
    pubsub: gossipsub(defined<Partial<GossipsubOpts>>({
      globalSignaturePolicy: 'StrictNoSign',
      msgIdFn: (msg: { data: Uint8Array }) => gossipMessageId(msg.data),
      msgIdToStrFn: messageIdToString,
      allowPublishToZeroTopicPeers: true,
      ignoreDuplicatePublishError: true,
      emitSelf: false,
      D: mesh.D,
      Dlo: mesh.Dlo,
      Dhi: mesh.Dhi,
      // gossipsub requires Dout < Dlo and Dout <= D/2, Dscore <= D
      Dout: Math.max(0, Math.min(2, Math.floor(mesh.D / 2), mesh.Dlo - 1)),
      Dscore: Math.min(4, mesh.D),
      heartbeatInterval: g.heartbeatMs ?? HEARTBEAT_INTERVAL_MS,
      Dlazy: g.Dlazy ?? MESH_D_LAZY,
      gossipFactor: g.gossipFactor ?? GOSSIP_FACTOR,
      mcacheGossip: g.mcacheGossip ?? MCACHE_GOSSIP,
      floodPublish: g.floodPublish ?? FLOOD_PUBLISH,
      seenTTL: g.seenTtlMs,
      directPeers: (g.directPeers ?? []).map((a) => { const p = peerOf(a); return { id: p.id, addrs: [p.ma] } }),
      directConnectTicks: 10,
      allowedTopics: Object.keys(topics),
      runOnLimitedConnection: true,
      scoreParams: scoreParams({
        topics: Object.keys(topics),
        penalties,
        invalidMessageWeight: g.invalidMessageWeight,
        ipColocationWhitelist: testNet ? ['127.0.0.1', '::1'] : []
      }),
      scoreThresholds: DEFAULT_SCORE_THRESHOLDS
    })),
    dht: kadDHT(defined<KadDHTInit>({
      protocol: Protocol.KAD,
      clientMode: config.dht?.clientMode ?? (testNet ? false : undefined),
      peerInfoMapper: testNet ? passthroughMapper : removePrivateAddressesMapper,
      logPrefix: 'souk:dht',
      datastorePrefix: '/souk/dht'
    }))
  }
  if (config.autonat !== false) services.autonat = freshDialAutoNAT()
  if ((config.relay?.reserveOn?.length ?? 0) > 0) services.relayKeeper = relayKeeper({ relays: config.relay!.reserveOn! })
  if (config.dcutr !== false) services.dcutr = dcutr()
  if (config.relay?.server === true) {
    // 0 for both limits means none; otherwise souk's defaults leave room for a 1 MiB manifest
    // and a session of lease requests, where libp2p's (128 KiB, 2 min) cut a manifest off
    const dataLimit = config.relay.circuitDataLimitBytes ?? RELAY_CIRCUIT_DATA_LIMIT
    const durationLimit = config.relay.circuitDurationMs ?? RELAY_CIRCUIT_DURATION_MS
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: config.relay.maxReservations ?? 128,
        applyDefaultLimit: config.relay.limitCircuits !== false && (dataLimit > 0 || durationLimit > 0),
        defaultDataLimit: BigInt(dataLimit > 0 ? dataLimit : Number.MAX_SAFE_INTEGER),
        defaultDurationLimit: durationLimit > 0 ? durationLimit : 2 ** 31 - 1
      }
    })
  }

  const libp2p = await createLibp2p<SoukServices>({
    privateKey: identity.privateKey,
    datastore,
    addresses: { listen, announce: config.announce },
    transports: [withCoalescedWrites(config.wan != null ? wanTransport(tcp(), wanDialInit(config.wan, identity.peerId.toString())) : tcp()), webSockets(), circuitRelayTransport({ reservationCompletionTimeout: RELAY_RESERVATION_TIMEOUT_MS })],
    connectionEncrypters: [noise({ crypto: noiseCrypto() })],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: {
      maxConnections: config.maxConnections ?? 300,
      // every node of a one-machine network comes from 127.0.0.1; rate limits by host would refuse them
      allow: testNet ? ['/ip4/127.0.0.0/ipcidr/8'] : undefined
    },
    // The connection monitor pings every connection at once every 10 s, each ping a new stream
    // with its own protocol negotiation; on a node with many connections that is a CPU burst that
    // delays gossip. yamux's keep-alive frames (every 30 s) keep idle connections open and TCP
    // notices dead ones, so the monitor is off (and a missed ping on a busy machine is not a dead
    // peer anyway).
    connectionMonitor: { enabled: false },
    transportManager: { faultTolerance: FaultTolerance.NO_FATAL },
    services,
    start: false
  })

  const pubsub = gossipsubPubSub<SignedMessage>(libp2p.services.pubsub)
  let stopped = false
  let keeper: NodeJS.Timeout | undefined
  const unhandles: Array<() => Promise<void>> = []
  try {
    await libp2p.start()
  } catch (err) {
    try { await libp2p.stop() } catch {}
    await datastore?.close().catch(() => {})
    throw err
  }
  const gossip = soukGossip({ pubsub, validator, replay, metrics })
  if (config.openOrders != null) unhandles.push(await handleSync(libp2p, { openOrders: config.openOrders, closes: config.closes, outcomes: config.outcomes, metrics, logger: config.logger }))

  // The peer keeper: below minConnections, dial bootstrap peers and peers remembered in the peer
  // store (which persists), so a restarted node finds the network again on its own.
  const bootstrapPeers = (config.bootstrap ?? []).map(peerOf)
  const bootstrapState = bootstrapWatch(libp2p, bootstrapPeers)
  unhandles.push(await handleTime(libp2p, { metrics, logger: config.logger }))
  const minConnections = config.minConnections ?? MIN_CONNECTIONS
  let keeping = false
  const keep = async (): Promise<void> => {
    if (keeping || stopped || minConnections === 0) return
    keeping = true
    try {
      const connected = new Set(libp2p.getPeers().map((p) => p.toString()))
      if (connected.size >= minConnections) return
      const candidates: Array<PeerId | Multiaddr> = []
      for (const p of await libp2p.peerStore.all()) {
        const id = p.id.toString()
        if (connected.has(id) || p.id.equals(libp2p.peerId) || p.addresses.length === 0) continue
        if (bootstrapPeers.some((b) => b.id.equals(p.id))) continue
        candidates.push(p.id)
      }
      // bootstrap peers through the watch, which keeps why a dial failed; known peers in random order
      const rest = candidates
      for (let i = rest.length - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [rest[i], rest[j]] = [rest[j], rest[i]] }
      const picks = rest.slice(0, Math.max(1, (minConnections - connected.size) * 2))
      await Promise.allSettled([bootstrapState.check(), ...picks.map(async (t) => await libp2p.dial(t, { signal: AbortSignal.timeout(5_000) }))])
    } catch {
      // the next tick tries again
    } finally {
      keeping = false
    }
  }
  keeper = setInterval(() => { void keep() }, PEER_KEEPER_INTERVAL_MS)
  keeper.unref()
  void keep()

  const node: SoukNode = {
    libp2p,
    peerId: libp2p.peerId,
    identity,
    gossip,
    metrics,
    logger: config.logger,
    replay,
    penalties,
    bootstrap: bootstrapState,
    clockOffset: async (peer, opts = {}) => await peerClockOffset(libp2p, peer, opts),
    multiaddrs: () => libp2p.getMultiaddrs().map((m) => m.toString()),
    dial: async (target, opts = {}) => await libp2p.dial(typeof target === 'string' ? multiaddr(target) : target, { signal: opts.signal }),
    provideRole: async (role, opts = {}) => { await provideRole(libp2p, role, opts) },
    stopProvidingRole: async (role) => { await stopProvidingRole(libp2p, role) },
    findRole: async (role, opts = {}) => await findRole(libp2p, role, opts),
    syncOrders: async (peer, opts) => await syncOrders(libp2p, gossip, peer, opts),
    syncCloses: async (peer, leases, opts) => await syncCloses(libp2p, peer, leases, opts),
    handleManifest: async (init) => {
      const u = await handleManifest(libp2p, { metrics, logger: config.logger, ...init })
      unhandles.push(u)
      return u
    },
    sendManifest: async (provider, frame, opts) => await sendManifest(libp2p, provider, frame, opts),
    handleLease: async (init) => {
      const u = await handleLease(libp2p, { metrics, logger: config.logger, ...init })
      unhandles.push(u)
      return u
    },
    leaseRequest: (provider, request, opts) => leaseRequest(libp2p, provider, request, opts),
    stop: async () => {
      if (stopped) return
      stopped = true
      clearInterval(keeper)
      bootstrapState.stop()
      for (const u of unhandles) await u().catch(() => {})
      await libp2p.stop()
      await datastore?.close().catch(() => {})
    }
  }
  return node
}
