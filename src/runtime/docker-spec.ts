// The Docker side of a lease as data: the container create spec of each replica, the lease's
// bridge network, its notices, and its status read back from the engine's answers. Nothing here
// calls the engine, so the whole policy (limits, capabilities, ports, GPUs, labels) can be
// checked without one, and loading this file does not load the Docker client.
import type { ContainerCreateOptions, ContainerInfo, ContainerInspectInfo, NetworkCreateOptions, NetworkInspectInfo, VolumeInspectInfo } from 'dockerode'
import {
  DEFAULT_CAP_ADD, DEFAULT_INSTANCE, DEFAULT_PIDS_LIMIT, LABEL_COUNT, LABEL_EXPOSE, LABEL_GENERATION, LABEL_GROUP, LABEL_INSTANCE, LABEL_LEASE,
  LABEL_NOTICES, LABEL_PROVIDER, LABEL_REPLICA, LABEL_SERVICE, LABEL_TENANT, NAME_PREFIX
} from './constants.ts'
import { ContainerLimitsError } from './errors.ts'
import { commonNotices, formatUrl, isGlobal, leaseNameKey, urlScheme } from './manifest-plan.ts'
import type { PlannedService } from './manifest-plan.ts'
import type { DeployedLease, LeaseRef, LeaseSummary, ReplicaState, ReplicaStatus, RuntimeNotice, ServiceStatus, ServiceUrl } from './interface.ts'
import type { Manifest, ServiceManifest } from '../sdl/types.ts'

export interface ContainerSpecInput {
  lease: LeaseRef
  group: string
  service: ServiceManifest
  replica: number
  generation: number
  network: string
  instance?: string
  hostIp?: string
  pidsLimit?: number
  restartPolicy?: 'unless-stopped' | 'on-failure'
  maxRestarts?: number
  capAdd?: readonly string[]
  /** whether the storage driver can enforce a size on the container's writable layer */
  storageOpt?: boolean
  /** whether volumes are sized file systems (a volume store) rather than Docker's unsized local volumes */
  sizedVolumes?: boolean
  /** OCI runtime name; the engine's default when absent */
  ociRuntime?: string
  /** specific GPUs to hand over (UUIDs or indexes) instead of a count */
  gpuDeviceIds?: string[]
  /** lease-wide notices stored on the container so status can report them after a restart */
  notices?: RuntimeNotice[]
  logMaxSize?: string
  logMaxFiles?: number
}

export interface ContainerSpec {
  /** container name */
  name: string
  create: ContainerCreateOptions
  /** named volumes this container mounts; created before the container */
  volumes: Array<{ name: string, labels: Record<string, string>, size: number }>
  notices: RuntimeNotice[]
}

/** how a global port's URL is written, kept in a container label for status after a restart */
interface StoredExpose { port: number, as: number, proto: 'tcp' | 'udp', s: 'http' | 'tcp' | 'udp' }

/** Docker refuses a memory limit below 6 MB */
const DOCKER_MIN_MEMORY = 6 * 1024 * 1024
/** and a CPU limit below 0.01 cpu (10 millicpu) */
const DOCKER_MIN_NANO_CPUS = 10_000_000

function sanitize (s: string): string {
  return s.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 63)
}

export function networkName (leaseId: string): string {
  return `${NAME_PREFIX}${leaseNameKey(leaseId)}`
}

export function volumeName (leaseId: string, service: string, volume: string, replica: number): string {
  return `${NAME_PREFIX}${leaseNameKey(leaseId)}-${service}-${sanitize(volume)}-${replica}`
}

export function leaseLabels (lease: LeaseRef, instance: string): Record<string, string> {
  return { [LABEL_LEASE]: lease.leaseId, [LABEL_TENANT]: lease.tenant, [LABEL_PROVIDER]: lease.provider, [LABEL_INSTANCE]: instance }
}

/**
 * The create spec of one replica's container, as data: no Docker call is made, so the whole
 * policy (limits, capabilities, ports, GPUs, labels) can be checked without an engine.
 */
export function containerSpec (input: ContainerSpecInput): ContainerSpec {
  const { lease, service, replica, generation } = input
  const instance = input.instance ?? DEFAULT_INSTANCE
  const path = `services.${service.name}`
  const notices: RuntimeNotice[] = []
  const labels: Record<string, string> = {
    ...leaseLabels(lease, instance),
    [LABEL_SERVICE]: service.name,
    [LABEL_GROUP]: input.group,
    [LABEL_REPLICA]: String(replica),
    [LABEL_GENERATION]: String(generation),
    [LABEL_COUNT]: String(service.count),
    [LABEL_EXPOSE]: JSON.stringify(service.expose.filter(isGlobal).map((e): StoredExpose => ({ port: e.port, as: e.as, proto: e.proto, s: urlScheme(e) }))),
    [LABEL_NOTICES]: JSON.stringify(input.notices ?? [])
  }

  const exposedPorts: Record<string, {}> = {}
  const portBindings: Record<string, Array<{ HostIp: string, HostPort: string }>> = {}
  for (const e of service.expose) {
    const key = `${e.port}/${e.proto}`
    exposedPorts[key] = {}
    // a random free host port: several leases may expose the same container port
    if (isGlobal(e) && portBindings[key] == null) portBindings[key] = [{ HostIp: input.hostIp ?? '127.0.0.1', HostPort: '' }]
  }

  const volumes: ContainerSpec['volumes'] = []
  const mounts: NonNullable<NonNullable<ContainerCreateOptions['HostConfig']>['Mounts']> = []
  let storageOpt: Record<string, string> | undefined
  for (const s of service.resources.storage) {
    const params = service.storage?.[s.name]
    if (params == null) {
      if (!s.persistent && s.class == null) {
        // the container's own writable layer
        if (input.storageOpt === true) storageOpt = { size: String(s.size) }
        else notices.push({ path: `${path}.resources.storage.${s.name}`, code: 'storage-size-not-enforced', message: `the Docker storage driver cannot limit the writable layer; ${s.size} bytes of ephemeral storage are not enforced` })
      } else {
        notices.push({ path: `${path}.resources.storage.${s.name}`, code: 'storage-not-mounted', message: `volume ${s.name} is not mounted by the service (no params.storage entry)` })
      }
      continue
    }
    if (s.class === 'ram') {
      mounts.push({ Type: 'tmpfs', Source: '', Target: params.mount, ReadOnly: params.readOnly, TmpfsOptions: { SizeBytes: s.size, Mode: 0o1777 } })
      continue
    }
    const name = volumeName(lease.leaseId, service.name, s.name, replica)
    volumes.push({ name, labels: { ...leaseLabels(lease, instance), [LABEL_SERVICE]: service.name, [LABEL_REPLICA]: String(replica) }, size: s.size })
    mounts.push({ Type: 'volume', Source: name, Target: params.mount, ReadOnly: params.readOnly })
    if (input.sizedVolumes !== true) {
      notices.push({ path: `${path}.resources.storage.${s.name}`, code: 'volume-size-not-enforced', message: `Docker's local volume driver does not limit volume size; ${s.size} bytes are reserved but not enforced` })
    }
  }
  // a ram volume's pages are charged to the container's memory: the limit covers both
  const ramBytes = service.resources.storage.filter((s) => s.class === 'ram' && service.storage?.[s.name] != null).reduce((a, s) => a + s.size, 0)
  const memory = service.resources.memory + ramBytes
  const nanoCpus = Math.round(service.resources.cpu * 1e6)
  const pidsLimit = input.pidsLimit ?? DEFAULT_PIDS_LIMIT
  // the last line: whatever reached this point, no container runs without all three limits
  if (!Number.isSafeInteger(memory) || memory < DOCKER_MIN_MEMORY) throw new ContainerLimitsError(`${path}.resources.memory`, `a container needs a memory limit of at least ${DOCKER_MIN_MEMORY} bytes (Docker's minimum), got ${String(service.resources.memory)}`)
  if (!Number.isSafeInteger(nanoCpus) || nanoCpus < DOCKER_MIN_NANO_CPUS) throw new ContainerLimitsError(`${path}.resources.cpu`, `a container needs a CPU limit of at least ${DOCKER_MIN_NANO_CPUS / 1e6} millicpu (Docker's minimum), got ${String(service.resources.cpu)}`)
  if (!Number.isSafeInteger(pidsLimit) || pidsLimit < 1) throw new ContainerLimitsError(`${path}`, `a container needs a positive pids limit, got ${String(pidsLimit)}`)

  const deviceRequests: NonNullable<NonNullable<ContainerCreateOptions['HostConfig']>['DeviceRequests']> = []
  if (service.resources.gpu.units > 0) {
    deviceRequests.push(input.gpuDeviceIds != null && input.gpuDeviceIds.length > 0
      ? { Driver: 'nvidia', DeviceIDs: input.gpuDeviceIds, Capabilities: [['gpu']] }
      : { Driver: 'nvidia', Count: service.resources.gpu.units, Capabilities: [['gpu']] })
  }

  const name = `${NAME_PREFIX}${leaseNameKey(lease.leaseId)}-${service.name}-${replica}-g${generation}`
  const create: ContainerCreateOptions = {
    name,
    Image: service.image,
    Hostname: sanitize(`${service.name}-${replica}`),
    Env: [...service.env],
    Labels: labels,
    ExposedPorts: exposedPorts,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    HostConfig: {
      NetworkMode: input.network,
      PortBindings: portBindings,
      NanoCpus: nanoCpus,
      Memory: memory,
      // no swap: the memory limit is the whole allowance
      MemorySwap: memory,
      PidsLimit: pidsLimit,
      ...(input.ociRuntime != null ? { Runtime: input.ociRuntime } : {}),
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: [...(input.capAdd ?? DEFAULT_CAP_ADD)],
      SecurityOpt: ['no-new-privileges:true'],
      RestartPolicy: input.restartPolicy === 'on-failure'
        ? { Name: 'on-failure', MaximumRetryCount: input.maxRestarts ?? 5 }
        : { Name: 'unless-stopped' },
      Mounts: mounts,
      LogConfig: { Type: 'json-file', Config: { 'max-size': input.logMaxSize ?? '10m', 'max-file': String(input.logMaxFiles ?? 3) } },
      ...(storageOpt != null ? { StorageOpt: storageOpt } : {}),
      ...(deviceRequests.length > 0 ? { DeviceRequests: deviceRequests } : {})
    },
    NetworkingConfig: {
      EndpointsConfig: { [input.network]: { Aliases: [service.name, sanitize(`${service.name}-${replica}`)] } }
    }
  }
  if (service.command != null && service.command.length > 0) create.Entrypoint = [...service.command]
  if (service.args != null && service.args.length > 0) create.Cmd = [...service.args]
  return { name, create, volumes, notices }
}

/** the lease's own bridge network: its replicas reach each other by service name, and nothing else shares it */
export function networkSpec (lease: LeaseRef, instance: string = DEFAULT_INSTANCE): NetworkCreateOptions {
  return {
    Name: networkName(lease.leaseId),
    Driver: 'bridge',
    CheckDuplicate: true,
    EnableIPv6: false,
    Labels: { ...leaseLabels(lease, instance) },
    Options: { 'com.docker.network.bridge.enable_icc': 'true' }
  }
}

/** the Linux bridge of a lease network: Docker names it br-<first 12 of the network ID> unless told otherwise */
export function bridgeOf (n: { Id: string, Options?: Record<string, string> | null }): string {
  return n.Options?.['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`
}

/** what every replica of a lease carries about the lease as a whole, on top of the manifest's own notices */
export function deployNotices (manifest: Manifest, planned: PlannedService[], opts: { firewall: boolean }): RuntimeNotice[] {
  const notices = commonNotices(manifest, planned, 'docker')
  if (planned.some((p) => p.service.resources.gpu.units > 0)) {
    notices.push({ path: 'services', code: 'gpu-driver', message: 'GPU replicas need the NVIDIA container toolkit on the provider; they fail to start without it' })
  }
  if (!opts.firewall) notices.push({ path: 'services', code: 'network-not-isolated', message: 'this provider does not isolate lease networks with souk\'s firewall (provider.sandbox.firewall: off)' })
  return notices
}

/** each notice once, by path and code, first wins */
export function dedupeNotices (notices: RuntimeNotice[]): RuntimeNotice[] {
  const seen = new Set<string>()
  return notices.filter((n) => {
    const k = `${n.path}\u0000${n.code}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

export function replicaState (state: ContainerInspectInfo['State'] | undefined): ReplicaState {
  if (state == null) return 'unknown'
  if (state.Restarting) return 'restarting'
  if (state.Running) return 'running'
  if (state.Status === 'created') return 'pending'
  if (state.Status === 'exited') return state.ExitCode === 0 ? 'exited' : 'failed'
  if (state.Status === 'dead') return 'failed'
  return 'unknown'
}

/** a label souk wrote as JSON; the fallback when it is missing or not JSON (a label edited by hand) */
export function parseJsonLabel<T> (value: string | undefined, fallback: T): T {
  if (value == null) return fallback
  try { return JSON.parse(value) as T } catch { return fallback }
}

/** the URLs of one replica's global ports, from the host ports the engine bound them to */
export function replicaUrls (info: ContainerInspectInfo, publicHost: string): ServiceUrl[] {
  const exposes = parseJsonLabel<StoredExpose[]>(info.Config.Labels?.[LABEL_EXPOSE], [])
  const urls: ServiceUrl[] = []
  for (const e of exposes) {
    const binding = info.NetworkSettings?.Ports?.[`${e.port}/${e.proto}`]?.[0]
    if (binding?.HostPort == null || binding.HostPort === '') continue
    urls.push(formatUrl(e.s, { port: e.port, as: e.as, proto: e.proto }, publicHost, Number(binding.HostPort)))
  }
  return urls
}

/**
 * A lease's status from its containers as the engine describes them. `notices` are the lease's
 * notices when this process knows them; otherwise those stored on the containers are used.
 */
export function leaseStatus (leaseId: string, infos: ContainerInspectInfo[], publicHost: string, notices?: RuntimeNotice[]): DeployedLease {
  const services = new Map<string, ServiceStatus>()
  let tenant = ''
  let provider = ''
  for (const info of [...infos].sort((a, b) => a.Name.localeCompare(b.Name))) {
    const l = info.Config.Labels ?? {}
    tenant = l[LABEL_TENANT] ?? tenant
    provider = l[LABEL_PROVIDER] ?? provider
    notices ??= parseJsonLabel<RuntimeNotice[]>(l[LABEL_NOTICES], [])
    const name = l[LABEL_SERVICE] ?? 'unknown'
    let s = services.get(name)
    if (s == null) {
      s = { name, group: l[LABEL_GROUP] ?? '', image: info.Config.Image, count: Number(l[LABEL_COUNT] ?? 0), ready: 0, replicas: [], urls: [] }
      services.set(name, s)
    }
    const state = replicaState(info.State)
    const urls = state === 'running' ? replicaUrls(info, publicHost) : []
    const r: ReplicaStatus = {
      name: info.Name.replace(/^\//, ''),
      index: Number(l[LABEL_REPLICA] ?? -1),
      state,
      restarts: info.RestartCount ?? 0,
      urls
    }
    if (!info.State.Running) r.exitCode = info.State.ExitCode
    if (info.State.OOMKilled) r.message = 'OOMKilled'
    else if (info.State.Error !== '' && info.State.Error != null) r.message = info.State.Error
    if (info.State.StartedAt != null && !info.State.StartedAt.startsWith('0001')) r.startedAt = info.State.StartedAt
    s.replicas.push(r)
    s.urls.push(...urls)
    if (state === 'running') s.ready++
  }
  return { leaseId, tenant, provider, runtime: 'docker', services: [...services.values()], notices: notices ?? [] }
}

/** every lease one provider's objects belong to, with its services' replica counts, from what the engine lists */
export function ownedLeaseSummaries (containers: ContainerInfo[], networks: NetworkInspectInfo[], volumes: VolumeInspectInfo[]): Map<string, LeaseSummary> {
  const leases = new Map<string, LeaseSummary>()
  const get = (labels: Record<string, string> | undefined): LeaseSummary | undefined => {
    const id = labels?.[LABEL_LEASE]
    if (id == null) return undefined
    let s = leases.get(id)
    if (s == null) {
      s = { leaseId: id, services: [] }
      leases.set(id, s)
    }
    if (labels?.[LABEL_TENANT] != null) s.tenant = labels[LABEL_TENANT]
    if (labels?.[LABEL_PROVIDER] != null) s.provider = labels[LABEL_PROVIDER]
    return s
  }
  for (const n of networks) get(n.Labels)
  for (const v of volumes) get(v.Labels ?? undefined)
  for (const c of containers) {
    const s = get(c.Labels)
    if (s == null) continue
    const name = c.Labels[LABEL_SERVICE] ?? 'unknown'
    let svc = s.services.find((x) => x.name === name)
    if (svc == null) {
      svc = { name, replicas: 0, running: 0 }
      s.services.push(svc)
    }
    svc.replicas++
    if (c.State === 'running') svc.running++
  }
  return leases
}

/** the label filter that lists one lease's objects of one provider */
export function leaseFilter (leaseId: string, instance: string): { label: string[] } {
  return { label: [`${LABEL_LEASE}=${leaseId}`, `${LABEL_INSTANCE}=${instance}`] }
}
