// The node configuration (souk.yaml in the node home). Precedence, lowest first: defaults, the
// file, SOUK_* environment variables, then `--set path=value` flags. Every value is checked and
// an error names its path.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from './errors.ts'
import { checkIngressConfig, defaultIngressConfig } from './ingress.ts'
import type { IngressConfig } from './ingress.ts'
import { checkTenantConfig } from './tenant.ts'
import { QUANTITY_SETTINGS, parseQuantitySetting } from './units.ts'
import { defaultListen } from './constants.ts'
import { errorCode, errorMessage } from '../util/index.ts'

export const ROLES = ['tenant', 'provider', 'validator'] as const
export type Role = typeof ROLES[number]

export interface SoukConfig {
  roles: Role[]
  network: {
    listen: string[]
    announce: string[]
    bootstrap: string[]
    mdns: boolean
    relayServer: boolean
    /** a relay server's limits per relayed connection; 0 = no limit */
    relayCircuitDataLimit: number
    relayCircuitDurationMs: number
    /** relays (multiaddrs with /p2p/<id>) to reserve a slot on: a node behind NAT is reached through them */
    relayReserveOn: string[]
    /** multiaddrs (with /p2p/<id>) kept as direct gossip peers: committee members */
    directPeers: string[]
    /** a network on one machine or LAN: DHT server mode, loopback and private addresses kept */
    testNetwork: boolean
    /**
     * WAN emulation for a test network on one machine ({ profile, seed, region, peers }; see
     * docs/wan-emulation.md): empty for none. Checked when the network starts.
     */
    wan: Record<string, unknown>
  }
  /** the committee file chain (relative to the node home); every role needs it to check leases */
  committee: { file: string, batchIntervalMs: number, minBatchIntervalMs: number, idleBatchIntervalMs: number }
  api: { metricsHost: string, metricsPort: number }
  log: {
    level: 'trace' | 'debug' | 'info' | 'warn' | 'error'
    /** a file in the node home (or an absolute path) the daemon also logs to, rotated by size; '' = standard error only */
    file: string
    /** rotate the file past this size (souk.yaml takes sizes: `10Mi`) */
    maxBytes: number
    /** rotated files kept (node.log.1 … node.log.N) */
    keep: number
  }
  tenant: {
    bidWindowMs: number
    /** how long after an order's bid deadline to wait for the committee's decision, ms */
    decisionTimeoutMs: number
    /** `akash1…=<souk auditor key>`: Akash auditor addresses in deployment files, as souk auditors */
    akashAuditors: string[]
    /** failover of deployments whose provider is lost or failed (docs/tenant.md); `souk deploy --failover` turns it on for one */
    failover: { enabled: boolean, lostAfterMs: number, probeMs: number, manifestTimeoutMs: number, maxFailovers: number }
    /** which providers orders accept: by record (protocols/committee.md §6.2) and by peer ID or key */
    accept: { maxFailurePermille: number, minServed: number, allow: string[], deny: string[] }
  }
  provider: {
    runtime: 'docker' | 'kubernetes'
    dockerHost: string
    publishHost: string
    kubeconfig: string
    attributes: Record<string, string>
    cpuOvercommit: number
    memoryOvercommit: number
    /** millicpu (souk.yaml takes CPUs or millicpu: `2`, `2000m`); 0 = read from the host */
    cpu: number
    /** bytes (souk.yaml takes sizes: `16Gi`); 0 = read from the host */
    memory: number
    /** bytes (souk.yaml takes sizes: `500Gi`); 0 = read from the data dir's file system */
    storage: number
    pricingScript: string
    /** price table: resource → decimal amount (see docs/provider.md) */
    prices: Record<string, string>
    denom: string
    manifestTimeoutMs: number
    /** how often signed usage statements go to each lease's tenant */
    usageIntervalMs: number
    /** a lease whose statements stay unanswered this long is closed */
    usageGraceMs: number
    /** what a tenant's containers can reach and use (docs/security.md) */
    sandbox: SandboxConfig
    /** one HTTP listener routing each lease's HTTP services by hostname */
    ingress: IngressConfig
  }
}

export const OCI_RUNTIMES = ['runc', 'runsc'] as const
export const UNENFORCED_STORAGE = ['auto', 'decline', 'accept'] as const

export interface SandboxConfig {
  /** Docker: the OCI runtime leases run under; runsc (gVisor) must be registered with the engine */
  ociRuntime: typeof OCI_RUNTIMES[number]
  /** Docker: `iptables` isolates each lease network (needs root on the Docker host); `off` leaves that to the operator */
  firewall: 'iptables' | 'off'
  /** IPv4 ranges leases may reach although private (a service on the provider's network it sells access to) */
  allowNetworks: string[]
  /** more IPv4 ranges leases must not reach (the provider's own public subnet, the nodes' addresses) */
  blockNetworks: string[]
  /** registries images may come from although on a private address: host names or CIDRs */
  allowRegistries: string[]
  /** Docker: directory for sized volumes (loop-mounted file system images); empty: <home>/volumes when running as root, else none */
  volumeStore: string
  /** storage whose size the runtime cannot hold: `decline` such orders, `accept` them, `auto`: accept on a test network only */
  unenforcedStorage: typeof UNENFORCED_STORAGE[number]
  /** Kubernetes: pods in their own user namespace (hostUsers: false) */
  userNamespaces: boolean
  /** Kubernetes: refuse images that run as root (runAsNonRoot) */
  runAsNonRoot: boolean
}

export const CONFIG_FILE = 'souk.yaml'

export function defaultConfig (): SoukConfig {
  return {
    roles: ['tenant'],
    network: {
      listen: ['/ip4/127.0.0.1/tcp/0'],
      announce: [],
      bootstrap: [],
      mdns: false,
      relayServer: false,
      relayCircuitDataLimit: 16 * 1024 * 1024,
      relayCircuitDurationMs: 600_000,
      relayReserveOn: [],
      directPeers: [],
      testNetwork: false,
      wan: {}
    },
    committee: { file: 'committee.json', batchIntervalMs: 100, minBatchIntervalMs: 40, idleBatchIntervalMs: 5000 },
    api: { metricsHost: '127.0.0.1', metricsPort: 0 },
    log: { level: 'info', file: '', maxBytes: 10 * 1024 * 1024, keep: 5 },
    tenant: {
      bidWindowMs: 2000,
      decisionTimeoutMs: 30_000,
      akashAuditors: [],
      failover: { enabled: false, lostAfterMs: 60_000, probeMs: 5_000, manifestTimeoutMs: 30_000, maxFailovers: 3 },
      accept: { maxFailurePermille: 500, minServed: 0, allow: [], deny: [] }
    },
    provider: {
      runtime: 'docker',
      dockerHost: 'unix:///var/run/docker.sock',
      publishHost: '127.0.0.1',
      kubeconfig: '',
      attributes: {},
      cpuOvercommit: 1,
      memoryOvercommit: 1,
      cpu: 0,
      memory: 0,
      storage: 0,
      pricingScript: '',
      prices: { cpu: '1', memory: '1', storage: '0.1', gpu: '100', endpoint: '0' },
      denom: 'uakt',
      manifestTimeoutMs: 60_000,
      usageIntervalMs: 60_000,
      usageGraceMs: 300_000,
      sandbox: {
        ociRuntime: 'runc',
        firewall: 'iptables',
        allowNetworks: [],
        blockNetworks: [],
        allowRegistries: [],
        volumeStore: '',
        unenforcedStorage: 'auto',
        userNamespaces: true,
        runAsNonRoot: false
      },
      ingress: defaultIngressConfig()
    }
  }
}

type Problem = { path: string, message: string }

const CIDR = /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)(\/(3[0-2]|[12]?\d))?$/

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return v != null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * Merges `src` into `dst` following the shape of `dst`; unknown keys and wrong types are problems.
 * `internalUnits`: a number at a capacity setting is already millicpu or bytes (a program's
 * SoukConfig), not souk.yaml's CPUs; strings with units are read as in souk.yaml either way.
 */
function mergeInto (target: object, src: unknown, path: string, problems: Problem[], internalUnits = false): void {
  const dst = target as Record<string, unknown> // a settings object, walked key by key; `k in dst` checks each key first
  if (!isPlainObject(src)) { problems.push({ path: path || '(top)', message: 'must be a map' }); return }
  for (const [k, v] of Object.entries(src)) {
    const p = path === '' ? k : `${path}.${k}`
    if (!(k in dst)) { problems.push({ path: p, message: 'unknown setting' }); continue }
    const cur = dst[k]
    if (v == null) continue
    const quantity = QUANTITY_SETTINGS[p]
    if (quantity != null && internalUnits && typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) problems.push({ path: p, message: `${v} must be a whole number ≥ 0 (${quantity === 'cpu' ? 'millicpu' : 'bytes'})` })
      else dst[k] = v
      continue
    }
    if (quantity != null) {
      try { dst[k] = parseQuantitySetting(quantity, v) } catch (err) { problems.push({ path: p, message: errorMessage(err) }) }
      continue
    }
    if (Array.isArray(cur)) {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) problems.push({ path: p, message: 'must be a list of strings' })
      else dst[k] = [...v]
    } else if (isPlainObject(cur)) {
      // free-form string maps (attributes, prices) take any keys
      if (p === 'network.wan') {
        // free-form here; the network checks it as WanSettings when it starts
        if (!isPlainObject(v)) problems.push({ path: p, message: 'must be a map' })
        else dst[k] = structuredClone(v)
      } else if (k === 'attributes' || k === 'prices') {
        if (!isPlainObject(v)) { problems.push({ path: p, message: 'must be a map' }); continue }
        const out: Record<string, string> = k === 'prices' ? { ...(cur as Record<string, string>) } : {}
        for (const [ak, av] of Object.entries(v)) out[ak] = String(av)
        dst[k] = out
      } else {
        mergeInto(cur, v, p, problems, internalUnits)
      }
    } else if (typeof cur === 'number') {
      const n = typeof v === 'string' ? Number(v) : v
      if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) problems.push({ path: p, message: 'must be a non-negative number' })
      else dst[k] = n
    } else if (typeof cur === 'boolean') {
      if (typeof v === 'boolean') dst[k] = v
      else if (v === 'true' || v === 'false') dst[k] = v === 'true'
      else problems.push({ path: p, message: 'must be true or false' })
    } else {
      if (typeof v !== 'string' && typeof v !== 'number') problems.push({ path: p, message: 'must be a string' })
      else dst[k] = String(v)
    }
  }
}

/** the keys of provider.prices */
export const PRICED_RESOURCES = ['cpu', 'memory', 'storage', 'gpu', 'endpoint'] as const

function check (c: SoukConfig, problems: Problem[]): void {
  if (c.roles.length === 0) problems.push({ path: 'roles', message: `must name at least one of ${ROLES.join(', ')}` })
  c.roles.forEach((r, i) => { if (!ROLES.includes(r)) problems.push({ path: `roles[${i}]`, message: `"${r}" is not a role (${ROLES.join(', ')})` }) })
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(c.log.level)) problems.push({ path: 'log.level', message: 'must be trace, debug, info, warn or error' })
  if (c.log.maxBytes < 64 * 1024) problems.push({ path: 'log.maxBytes', message: 'must be at least 64Ki' })
  if (!Number.isInteger(c.log.keep) || c.log.keep > 100) problems.push({ path: 'log.keep', message: 'must be a whole number of files, 0-100' })
  if (!['docker', 'kubernetes'].includes(c.provider.runtime)) problems.push({ path: 'provider.runtime', message: 'must be docker or kubernetes' })
  const positive: Array<[string, number]> = [
    ['committee.batchIntervalMs', c.committee.batchIntervalMs],
    ['committee.minBatchIntervalMs', c.committee.minBatchIntervalMs],
    ['committee.idleBatchIntervalMs', c.committee.idleBatchIntervalMs],
    ['tenant.bidWindowMs', c.tenant.bidWindowMs],
    ['tenant.decisionTimeoutMs', c.tenant.decisionTimeoutMs],
    ['tenant.failover.lostAfterMs', c.tenant.failover.lostAfterMs],
    ['tenant.failover.probeMs', c.tenant.failover.probeMs],
    ['tenant.failover.manifestTimeoutMs', c.tenant.failover.manifestTimeoutMs]
  ]
  for (const [path, v] of positive) if (!Number.isInteger(v) || v <= 0) problems.push({ path, message: 'must be a whole number of ms above 0' })
  if (!Number.isInteger(c.network.relayCircuitDataLimit) || c.network.relayCircuitDataLimit < 0) problems.push({ path: 'network.relayCircuitDataLimit', message: 'must be a whole number of bytes (0: no limit)' })
  if (!Number.isInteger(c.network.relayCircuitDurationMs) || c.network.relayCircuitDurationMs < 0) problems.push({ path: 'network.relayCircuitDurationMs', message: 'must be a whole number of ms (0: no limit)' })
  if (c.api.metricsPort > 65535 || !Number.isInteger(c.api.metricsPort)) problems.push({ path: 'api.metricsPort', message: 'must be a port 0-65535 (0 picks a free one)' })
  const sb = c.provider.sandbox
  if (!(OCI_RUNTIMES as readonly string[]).includes(sb.ociRuntime)) problems.push({ path: 'provider.sandbox.ociRuntime', message: `must be ${OCI_RUNTIMES.join(' or ')}` })
  if (!['iptables', 'off'].includes(sb.firewall)) problems.push({ path: 'provider.sandbox.firewall', message: 'must be iptables or off' })
  if (!(UNENFORCED_STORAGE as readonly string[]).includes(sb.unenforcedStorage)) problems.push({ path: 'provider.sandbox.unenforcedStorage', message: `must be ${UNENFORCED_STORAGE.join(', ')}` })
  if (sb.volumeStore !== '' && !sb.volumeStore.startsWith('/')) problems.push({ path: 'provider.sandbox.volumeStore', message: 'must be an absolute directory' })
  for (const key of ['allowNetworks', 'blockNetworks'] as const) {
    sb[key].forEach((cidr, i) => { if (!CIDR.test(cidr)) problems.push({ path: `provider.sandbox.${key}[${i}]`, message: `${JSON.stringify(cidr)} is not an IPv4 range like 10.1.0.0/16` }) })
  }
  checkIngressConfig(c.provider.ingress, problems)
  checkTenantConfig(c.tenant, problems)
  for (const [k, v] of Object.entries(c.provider.prices)) {
    // a misspelt resource would otherwise be priced at nothing, silently
    if (!(PRICED_RESOURCES as readonly string[]).includes(k)) problems.push({ path: `provider.prices.${k}`, message: `is not a priced resource (${PRICED_RESOURCES.join(', ')})` })
    else if (!/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(v)) problems.push({ path: `provider.prices.${k}`, message: 'must be a decimal like "12" or "0.5"' })
  }
}

/** `network.bootstrap` → SOUK_NETWORK_BOOTSTRAP; camelCase parts become SNAKE_CASE. */
export function envName (path: string): string {
  return 'SOUK_' + path.split('.').map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')
}

function leafPaths (o: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(o)) {
    const p = prefix === '' ? k : `${prefix}.${k}`
    if (isPlainObject(v) && k !== 'attributes' && k !== 'prices') out.push(...leafPaths(v, p))
    else out.push(p)
  }
  return out
}

function setPath (target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.')
  let o = target
  for (const p of parts.slice(0, -1)) { o[p] = isPlainObject(o[p]) ? o[p] : {}; o = o[p] as Record<string, unknown> }
  o[parts[parts.length - 1]] = value
}

function fromText (text: string, template: unknown): unknown {
  if (Array.isArray(template)) return text.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (isPlainObject(template)) {
    const out: Record<string, string> = {}
    for (const pair of text.split(',')) { const [k, ...rest] = pair.split('='); if (k.trim() !== '') out[k.trim()] = rest.join('=').trim() }
    return out
  }
  return text
}

function getPath (o: object, path: string): unknown {
  return path.split('.').reduce<unknown>((x, k) => (typeof x === 'object' && x !== null ? (x as Record<string, unknown>)[k] : undefined), o)
}

export interface LoadConfigOptions {
  /** the node home; the file is HOME/souk.yaml */
  home: string
  env?: Record<string, string | undefined>
  /** `path=value` overrides, as given to --set */
  set?: string[]
}

export interface ResolveConfigOptions extends Omit<LoadConfigOptions, 'home'> {
  /** names the configuration in a ConfigError */
  source?: string
  /**
   * The value is a program's SoukConfig, not souk.yaml: capacity numbers are already millicpu and
   * bytes, and with no listen address given the node takes a free loopback port (the default)
   * rather than the role's fixed port, so two nodes in one process do not collide.
   */
  embedded?: boolean
}

export function resolveConfig (fileValue: unknown, opts: ResolveConfigOptions): SoukConfig {
  const config = defaultConfig()
  const problems: Problem[] = []
  if (fileValue != null) mergeInto(config, fileValue, '', problems, opts.embedded === true)
  const overrides: Record<string, unknown> = {}
  const env = opts.env ?? {}
  // DOCKER_HOST, the Docker clients' own variable (docs/operations.md, "Configuration"): for
  // souk.yaml it is an environment layer over the file, under SOUK_PROVIDER_DOCKER_HOST and
  // --set; a program's configuration (embedded) takes it as the default it may override.
  const dockerHostEnv = (opts.embedded === true ? process.env : env).DOCKER_HOST
  if (dockerHostEnv != null && dockerHostEnv !== '') {
    const programSetIt = opts.embedded === true && isPlainObject(fileValue) && isPlainObject(fileValue.provider) && fileValue.provider.dockerHost != null
    if (!programSetIt) setPath(overrides, 'provider.dockerHost', dockerHostEnv)
  }
  for (const p of leafPaths(defaultConfig() as unknown as Record<string, unknown>)) {
    const v = env[envName(p)]
    if (v != null && v !== '') setPath(overrides, p, fromText(v, getPath(config, p)))
  }
  for (const s of opts.set ?? []) {
    const eq = s.indexOf('=')
    if (eq <= 0) { problems.push({ path: s, message: 'a --set override must look like path=value' }); continue }
    const path = s.slice(0, eq).trim()
    setPath(overrides, path, fromText(s.slice(eq + 1), getPath(config, path)))
  }
  mergeInto(config, overrides, '', problems)
  // no listen address given anywhere: the role's fixed port, so the address survives restarts
  const given = (v: unknown): boolean => isPlainObject(v) && isPlainObject(v.network) && v.network.listen != null
  if (opts.embedded !== true && !given(fileValue) && !given(overrides)) config.network.listen = defaultListen(config.roles)
  check(config, problems)
  if (problems.length > 0) throw new ConfigError(opts.source ?? 'configuration', problems)
  return config
}

export async function loadConfig (opts: LoadConfigOptions): Promise<SoukConfig> {
  const file = join(opts.home, CONFIG_FILE)
  let fileValue: unknown
  try {
    const text = await readFile(file, 'utf8')
    if (text.length > 256 * 1024) throw new ConfigError(file, [{ path: '(file)', message: 'larger than 256 KiB' }])
    try {
      fileValue = parseYaml(text, { maxAliasCount: 16 })
    } catch (err) {
      throw new ConfigError(file, [{ path: '(yaml)', message: errorMessage(err).split('\n')[0] }])
    }
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err
  }
  return resolveConfig(fileValue, { env: opts.env ?? process.env, set: opts.set, source: file })
}
