// createNode(): one libp2p node, one store, and the roles its configuration asks for (tenant,
// provider, validator, any mix). The library's front door for running souk inside a program.
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { loadConfig, dockerSandboxInit, kubernetesSandboxInit, kubernetesIngressInit } from '../config/index.ts'
import type { SoukConfig, Role } from '../config/index.ts'
import { loadOrCreateKey } from '../identity/index.ts'
import type { Identity } from '../identity/index.ts'
import { openStore } from '../store/index.ts'
import type { Store } from '../store/index.ts'
import { createSoukLibp2p, reachabilityOf, MAX_SYNC_ORDERS } from '../net/index.ts'
import type { SoukNode, Reachability } from '../net/index.ts'
import type { WanSettings } from '../net/wan/index.ts'
import { BoundName, parseCommitteeFiles, verifyCommitteeChain } from '../committee/index.ts'
import type { CommitteeFile, CommitteeStatus } from '../committee/index.ts'
import type { ContainerRuntime } from '../runtime/index.ts'
import { createMetricsRegistry } from '../api/index.ts'
import type { MetricsRegistry } from '../api/index.ts'
import { leaseBook } from './lease-book.ts'
import type { LeaseBook, LeaseRecord, ExpiryRecord } from './lease-book.ts'
import { validatorRole } from './validator-role.ts'
import { providerRecordOf } from './record-protocol.ts'
import type { ProviderRecordView } from './record-protocol.ts'
import type { ValidatorRole } from './validator-role.ts'
import { providerRole, providerRoleInit } from './provider/index.ts'
import { gpusForProvider } from './gpu-offer.ts'
import type { ProviderRole } from './provider/index.ts'
import { tenantRole } from './tenant/index.ts'
import type { TenantRole } from './tenant/index.ts'
import { createLogger } from './logger.ts'
import { committeeChain } from './committee-chain.ts'
import type { Logger } from './logger.ts'
import { NodeError, NodeErrorCode } from './errors.ts'
import { mergeConfig } from './config-merge.ts'
import { errorMessage } from '../util/index.ts'
import type { SoukConfigInput } from './config-merge.ts'
import { acquireHome } from './home-guard.ts'
import type { HomeGuard } from './home-guard.ts'
import { waitReady, missingNeeds } from './readiness.ts'
import type { ReadyOptions } from './readiness.ts'
import { TypedEventEmitter } from '@libp2p/interface'
import type { TypedEventTarget } from '@libp2p/interface'
import { MAX_MESSAGE_AGE_MS } from '../wire/index.ts'
import type { SignedMessage, OrderBody, BidBody } from '../wire/index.ts'

export interface CreateNodeOptions {
  /** the node home: key, souk.yaml, store, committee file, control socket */
  home: string
  /**
   * any part of the configuration, laid over the defaults and checked (a ConfigError names each
   * wrong path); without it, HOME/souk.yaml with SOUK_* environment overrides
   */
  config?: SoukConfigInput
  /** defaults to the key in the home (created when missing) */
  identity?: Identity
  /** a provider's container runtime; defaults to what the config names */
  runtime?: ContainerRuntime
  /** defaults to the chain in the committee file named by the config */
  committee?: CommitteeFile[]
  logger?: Logger
}

export interface SoukNodeStatus {
  peerId: string
  roles: string[]
  addresses: string[]
  /** how others reach this node, from the addresses it announces */
  reachability: Reachability
  peers: number
  leases: number
  /** a validator's view of the committee: height, round, epoch, … */
  committee?: CommitteeStatus
}

/**
 * What a node tells its listeners (`node.addEventListener('lease:certified', (evt) => evt.detail)`),
 * as js-libp2p's nodes do. Market events come from gossip this node accepted, its own messages included.
 */
export interface SoukEvents {
  /** an order was seen (published by any tenant, this one included) */
  'order:received': CustomEvent<SignedMessage<OrderBody>>
  /** a bid was seen */
  'bid:received': CustomEvent<SignedMessage<BidBody>>
  /** the committee certified a lease (checked against the committee file) */
  'lease:certified': CustomEvent<LeaseRecord>
  /** a lease was closed, by its tenant or its provider */
  'lease:closed': CustomEvent<LeaseRecord>
  /** the committee declared an order expired without a lease */
  'order:expired': CustomEvent<ExpiryRecord>
  /** the node is stopping (the roles, the network and the store follow) */
  'node:stop': CustomEvent<undefined>
}

export interface Souk extends TypedEventTarget<SoukEvents> {
  readonly home: string
  readonly config: SoukConfig
  readonly identity: Identity
  readonly peerId: string
  readonly net: SoukNode
  readonly store: Store
  readonly book: LeaseBook
  readonly metrics: MetricsRegistry
  readonly logger: Logger
  readonly committeeFiles: () => CommitteeFile[]
  readonly tenant?: TenantRole
  readonly provider?: ProviderRole
  readonly validator?: ValidatorRole
  status: () => SoukNodeStatus
  /**
   * Resolves once the node can do its job: the committee file loaded and, for a tenant or a
   * provider, a peer subscribed to the orders topic (a provider also to the bids topic); for a
   * validator, enough committee members for a quorum. ERR_NOT_READY (a NodeError with
   * `missing`) after `timeoutMs` (30 s); an abort rejects with the signal's reason.
   */
  ready: (opts?: ReadyOptions) => Promise<void>
  /** what `ready()` still waits for, one sentence a need; empty when ready */
  missing: () => string[]
  /**
   * A provider's record (protocols/committee.md §6.2), by peer ID or key: a validator's own ledger,
   * else the figures f + 1 validators of the latest committee file agree on.
   */
  providerRecord: (peer: string, opts?: { signal?: AbortSignal }) => Promise<ProviderRecordView>
  /** stops the roles, then the network, then closes the store */
  stop: () => Promise<void>
}

export async function readCommitteeFiles (path: string): Promise<CommitteeFile[]> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new NodeError('ERR_NO_COMMITTEE_FILE', `no committee file at ${path}; every node needs the committee file to check leases (see docs/validator.md)`)
  }
  const files = parseCommitteeFiles(text, path)
  verifyCommitteeChain(files)
  return files
}

/**
 * The runtime the provider's configuration names. Its client library is loaded here, when a
 * provider starts, and only the one it uses: a tenant or a validator never holds either.
 */
async function defaultRuntime (config: SoukConfig, logger: Logger, owner: string, home: string): Promise<ContainerRuntime> {
  const p = config.provider
  if (p.runtime === 'kubernetes') {
    const { kubernetesRuntime } = await import('../runtime/kubernetes.ts')
    return kubernetesRuntime({ ...(p.kubeconfig === '' ? {} : { kubeconfig: p.kubeconfig }), ...kubernetesSandboxInit(config), ...kubernetesIngressInit(config) })({})
  }
  const { dockerRuntime } = await import('../runtime/docker.ts')
  // DOCKER_HOST was weighed against souk.yaml, SOUK_* and --set when the configuration was resolved
  const dockerHost = p.dockerHost
  logger.debug({ dockerHost }, 'docker runtime')
  // the owner label keeps providers that share one engine from adopting or removing each other's leases
  return dockerRuntime({ dockerHost, hostIp: p.publishHost, pull: 'missing', instance: owner, ...dockerSandboxInit(config, home) })({})
}

/** one of the node's services, as the node stops it */
interface Service { name: string, stop: () => void | Promise<void> }

/** starts a service and puts it on the list the node stops in reverse */
async function start (running: Service[], name: string, service: { start: () => Promise<void>, stop: () => Promise<void> }): Promise<void> {
  // on the list before it starts: what a failed start began is stopped with the rest
  running.push({ name, stop: async () => { await service.stop() } })
  await service.start()
}

export async function createNode (opts: CreateNodeOptions): Promise<Souk> {
  const home = opts.home
  const config = opts.config != null ? mergeConfig(opts.config) : await loadConfig({ home })
  // before anything in the home is opened: a second node on it fails here, clearly
  const guard = await acquireHome(home)
  try {
    return await startNode(opts, home, config, guard)
  } catch (err) {
    await guard.release()
    throw err
  }
}

async function startNode (opts: CreateNodeOptions, home: string, config: SoukConfig, guard: HomeGuard): Promise<Souk> {
  const logger = opts.logger ?? createLogger({ level: config.log.level, name: 'souk' })
  const identity = opts.identity ?? await loadOrCreateKey(home)
  const files = opts.committee ?? await readCommitteeFiles(join(home, config.committee.file))
  const store = openStore({ path: join(home, 'store.db') })
  const metrics = createMetricsRegistry()
  let book: LeaseBook | undefined
  let validator: ValidatorRole | undefined

  let net: SoukNode
  try {
    net = await createSoukLibp2p({
      identity,
      dataDir: join(home, 'p2p'),
      listen: config.network.listen,
      announce: config.network.announce,
      bootstrap: config.network.bootstrap,
      mdns: config.network.mdns,
      testNetwork: config.network.testNetwork,
      relay: {
        server: config.network.relayServer,
        reserveOn: config.network.relayReserveOn,
        circuitDataLimitBytes: config.network.relayCircuitDataLimit,
        circuitDurationMs: config.network.relayCircuitDurationMs
      },
      metrics,
      logger: logger.child({ scope: 'protocol' }),
      openOrders: () => book?.openOrders(Date.now()).map((o) => o.bytes) ?? [],
      // a validator answers from the final batches (they outlive its restarts), any node from what it heard
      closes: (ids) => ids.map((id) => validator?.committee.closeOf(id) ?? book?.closeOf(id)).filter((x): x is Uint8Array => x != null),
      // younger than gossip's age limit, or the asker's validation would refuse them
      outcomes: () => book?.outcomeMessages(Date.now() - MAX_MESSAGE_AGE_MS + 60_000, MAX_SYNC_ORDERS) ?? [],
      gossip: { directPeers: config.network.directPeers },
      ...(Object.keys(config.network.wan).length > 0 ? { wan: config.network.wan as unknown as WanSettings } : {})
    })
  } catch (err) {
    store.close()
    throw err
  }
  // the node's services, started in dependency order (network, committee chain, validator,
  // provider, tenant) and stopped in reverse, the store last
  const running: Service[] = [{ name: 'store', stop: () => { store.close() } }, { name: 'network', stop: async () => { await net.stop() } }]
  const stopAll = async (): Promise<void> => {
    for (const s of running.splice(0).reverse()) {
      try {
        await s.stop()
      } catch (err) {
        logger.warn({ service: s.name, err: errorMessage(err) }, 'stop failed')
      }
    }
  }
  const roles = new Set(config.roles)
  const chain = committeeChain({ home, file: config.committee.file, files, announcer: roles.has('validator') })({ net, identity, logger })
  chain.start()
  running.push({ name: 'committee chain', stop: () => { chain.stop() } })
  book = leaseBook({ committee: () => chain.files() })({ gossip: net.gossip, metrics })
  const lb = book
  chain.onChange(() => { lb.committeeChanged() })

  let provider: ProviderRole | undefined
  let tenant: TenantRole | undefined
  try {
    if (roles.has('validator')) {
      const v = validatorRole({ committeeFiles: files, batchIntervalMs: config.committee.batchIntervalMs, minBatchIntervalMs: config.committee.minBatchIntervalMs, idleBatchIntervalMs: config.committee.idleBatchIntervalMs })({ identity, net, store, book, logger: logger.child({ role: 'validator' }) })
      validator = v
      v.committee.on('epoch', () => { chain.adopt(v.committee.committeeFiles()) })
      await start(running, 'validator', v)
      chain.announce()
    }
    if (roles.has('provider')) {
      const providerLogger = logger.child({ role: 'provider' })
      provider = providerRole(providerRoleInit(config, home))({
        identity,
        net,
        book,
        runtime: opts.runtime ?? await defaultRuntime(config, logger, `souk-${identity.peerId.toString().slice(-12)}`, home),
        logger: providerLogger,
        store,
        metrics,
        committeeKeys: () => chain.files().at(-1)?.info.validators ?? [],
        gpus: async () => await gpusForProvider(config, providerLogger)
      })
      await start(running, 'provider', provider)
    }
    if (roles.has('tenant')) {
      tenant = tenantRole(config.tenant)({ identity, net, book, store, logger: logger.child({ role: 'tenant' }) })
      await start(running, 'tenant', tenant)
    }
  } catch (err) {
    await stopAll()
    throw err
  }

  const leasesGauge = metrics.gauge('souk_leases', 'leases this node knows, by state', (g) => {
    const counts: Record<string, number> = { active: 0, closed: 0 }
    for (const l of book!.leases()) counts[l.state]++
    for (const [state, n] of Object.entries(counts)) g.set(n, { state })
  })
  void leasesGauge
  const seen = metrics.counter('souk_market_messages_total', 'orders, bids, certified leases and expiries this node accepted, by kind')
  for (const kind of ['order', 'bid', 'lease', 'expired', 'closed'] as const) book.on(kind, () => seen.inc({ kind }))
  metrics.gauge('souk_orders_open', 'orders seen that have neither a lease nor an expiry yet', (g) => g.set(book!.openOrders(Date.now()).length))
  if (validator != null) {
    metrics.gauge('souk_committee_height', 'height the committee is deciding', (g) => g.set(validator!.committee.status().height))
    metrics.gauge('souk_committee_round', 'round at the current height (above 0 means view changes)', (g) => g.set(Math.max(0, validator!.committee.status().round)))
    // every bound from the start at 0, so a rate() over the first hit is right
    metrics.counter('souk_committee_bound_hits_total', 'what the committee refused or dropped because a bound bit, by bound (protocols/committee.md §11)', (c) => {
      const hits = validator!.committee.status().bounds
      for (const bound of Object.values(BoundName)) c.set(hits[bound] ?? 0, { bound })
    })
  }

  const events = new TypedEventEmitter<SoukEvents>()
  const forward: Array<[Parameters<LeaseBook['on']>[0], keyof SoukEvents]> = [
    ['order', 'order:received'], ['bid', 'bid:received'], ['lease', 'lease:certified'], ['closed', 'lease:closed'], ['expired', 'order:expired']
  ]
  const unforward = forward.map(([from, to]) => book!.on(from, (detail) => { events.safeDispatchEvent(to, { detail }) }))
  const readiness = { roles: [...roles] as Role[], peerId: net.peerId.toString(), gossip: net.gossip, committeeFiles: () => chain.files() }

  let stopped = false
  const node: Omit<Souk, keyof TypedEventTarget<SoukEvents>> = {
    home, config, identity, net, store, metrics, logger, tenant, provider, validator,
    book,
    peerId: net.peerId.toString(),
    committeeFiles: () => chain.files(),
    ready: async (o = {}) => {
      if (stopped) throw new NodeError(NodeErrorCode.STOPPED, 'the node was stopped')
      await waitReady(readiness, o)
    },
    missing: () => missingNeeds(readiness),
    providerRecord: async (peer, o = {}) => await providerRecordOf(net, chain.files(), peer, validator != null ? (p) => validator!.committee.providerRecord(p) : undefined, o.signal),
    status: () => {
      const addresses = net.multiaddrs()
      return {
        peerId: net.peerId.toString(),
        roles: [...roles],
        addresses,
        reachability: reachabilityOf(addresses),
        peers: net.libp2p.getPeers().length,
        leases: book!.leases().length,
        committee: validator?.committee.status()
      }
    },
    async stop () {
      if (stopped) return
      stopped = true
      events.safeDispatchEvent('node:stop', {})
      for (const off of unforward) off()
      await stopAll()
      await guard.release()
    }
  }
  // the event target's methods stay on its prototype; the node's fields go on the instance
  return Object.assign(events, node)
}
