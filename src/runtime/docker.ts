// Docker runtime: one bridge network per lease, one container per replica, named volumes for
// persistent storage. All state lives in object labels, so a restarted provider can list,
// adopt and clean up what an earlier process created.
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import Docker from 'dockerode'
import type { ContainerCreateOptions, ContainerInfo, ContainerInspectInfo } from 'dockerode'
import {
  DEFAULT_API_TIMEOUT_MS, DEFAULT_CAP_ADD, DEFAULT_INSTANCE, DEFAULT_PIDS_LIMIT, LABEL_COUNT, LABEL_EXPOSE, LABEL_GENERATION, LABEL_GROUP,
  LABEL_INSTANCE, LABEL_LEASE, LABEL_NOTICES, LABEL_PROVIDER, LABEL_REPLICA, LABEL_SERVICE, LABEL_SIZE, LABEL_TENANT, NAME_PREFIX
} from './constants.ts'
import {
  AbortedError, ContainerLimitsError, DeployFailedError, ImageRefusedError, ImageUnavailableError, LeaseExistsError, LeaseNotFoundError, RuntimeError,
  RuntimeRequestError, RuntimeUnavailableError, SandboxConfigError, SandboxUnavailableError, ServiceNotFoundError, UpdateFailedError
} from './errors.ts'
import { leaseFirewall } from './firewall.ts'
import type { LeaseFirewall } from './firewall.ts'
import { isPrivateMarker, privateMarker, registryPolicy } from './image-policy.ts'
import { volumeStore } from './volume-store.ts'
import type { VolumeStore } from './volume-store.ts'
import { checkLeaseId, commonNotices, formatUrl, isGlobal, leaseNameKey, planServices, urlScheme } from './manifest-plan.ts'
import type { PlannedService } from './manifest-plan.ts'
import { AsyncQueue, ByteQueue, DockerFrameDecoder, LineSplitter } from './streams.ts'
import type {
  ContainerRuntime, DeployedLease, DeployOptions, ExecHandle, ExecOptions, ExecOutput, LeaseRef, LeaseSummary, LogLine, LogOptions,
  ReconcileResult, ReplicaState, ReplicaStatus, RuntimeEvent, RuntimeNotice, SandboxReport, ServiceStatus, ServiceUrl, StorageEnforcement
} from './interface.ts'
import type { Manifest, ServiceManifest } from '../sdl/types.ts'

export interface DockerRuntimeInit {
  /** `unix:///var/run/docker.sock` or `tcp://host:port`; defaults to DOCKER_HOST, then the default socket */
  dockerHost?: string
  /** address global ports are published on; default 127.0.0.1 */
  hostIp?: string
  /** host name written into service URLs; default `hostIp` (127.0.0.1 when that is 0.0.0.0) */
  publicHost?: string
  /** owner label value: a runtime only lists, adopts and removes objects carrying its own */
  instance?: string
  pidsLimit?: number
  restartPolicy?: 'unless-stopped' | 'on-failure'
  /** with `on-failure`; default 5 */
  maxRestarts?: number
  /** replaces DEFAULT_CAP_ADD */
  capAdd?: string[]
  /** `missing` pulls images that are not present (default); `never` only uses local images */
  pull?: 'missing' | 'never'
  /** per Docker API call, pulls excepted */
  apiTimeoutMs?: number
  /** container log rotation, bounding the disk a chatty tenant can fill */
  logMaxSize?: string
  logMaxFiles?: number
  onDockerCall?: (name: string, ms: number) => void
  /** the OCI runtime leases run under, as registered with the engine: `runc` (default) or `runsc` (gVisor) */
  ociRuntime?: string
  /** `iptables` (default): each lease network gets souk's firewall; `off`: the operator isolates leases some other way */
  firewall?: 'iptables' | 'off'
  /** IPv4 ranges leases may reach although private (`10.1.2.0/24`) */
  allowNetworks?: string[]
  /** more IPv4 ranges leases must not reach (the provider's own public subnet, say) */
  blockNetworks?: string[]
  /** registries images may be pulled from although on a private address: host names or CIDRs */
  allowRegistries?: string[]
  /**
   * directory on the Docker host for sized volumes (one loop-mounted ext4 image per volume); without
   * it persistent volumes are Docker's local volumes, whose size nothing holds
   */
  volumeStore?: string
  /** the iptables binary (tests) */
  iptables?: string
}

export interface DockerRuntimeComponents {
  /** an existing client; otherwise one is made from `init.dockerHost` */
  docker?: Docker
  /** time spent inside each Docker API call, by call name (`container.create`, `container.start`, …) */
  onDockerCall?: (name: string, ms: number) => void
}

export interface DockerRuntime extends ContainerRuntime {
  readonly name: 'docker'
  /** the underlying client, for diagnostics */
  readonly docker: Docker
}

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

  const create: ContainerCreateOptions = {
    name: `${NAME_PREFIX}${leaseNameKey(lease.leaseId)}-${service.name}-${replica}-g${generation}`,
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
  return { name: create.name as string, create, volumes, notices }
}

/** A Docker client for `unix://…`, a socket path or `tcp://host:port`; default DOCKER_HOST, then the local socket. */
export function dockerClient (host?: string): Docker {
  return new Docker(dockerOptions(host))
}

function dockerOptions (host: string | undefined): Docker.DockerOptions {
  const h = host ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
  if (h.startsWith('unix://')) return { socketPath: h.slice('unix://'.length) }
  if (h.startsWith('/')) return { socketPath: h }
  const u = new URL(h.replace(/^tcp:/, 'http:'))
  return { host: u.hostname, port: Number(u.port || 2375), protocol: 'http' }
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ESOCKETTIMEDOUT', 'ECONNABORTED'])

function statusOf (err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode
}

function messageOf (err: unknown): string {
  const e = err as { json?: { message?: string }, message?: string }
  return e?.json?.message ?? e?.message ?? String(err)
}

function mapDockerError (err: unknown, call: string): RuntimeError {
  if (err instanceof RuntimeError) return err
  const code = (err as { code?: string })?.code
  if ((err as { name?: string })?.name === 'AbortError') return new AbortedError(`${call} was aborted`)
  if (code != null && TRANSIENT_CODES.has(code)) return new RuntimeUnavailableError(`Docker engine unreachable during ${call}: ${code}`, err)
  const status = statusOf(err)
  if (status === 503) return new RuntimeUnavailableError(`Docker engine unavailable during ${call}: ${messageOf(err)}`, err)
  return new RuntimeRequestError(`${call}: ${messageOf(err)}`, status, err)
}

function replicaState (state: ContainerInspectInfo['State'] | undefined): ReplicaState {
  if (state == null) return 'unknown'
  if (state.Restarting) return 'restarting'
  if (state.Running) return 'running'
  if (state.Status === 'created') return 'pending'
  if (state.Status === 'exited') return state.ExitCode === 0 ? 'exited' : 'failed'
  if (state.Status === 'dead') return 'failed'
  return 'unknown'
}

function parseJsonLabel<T> (value: string | undefined, fallback: T): T {
  if (value == null) return fallback
  try { return JSON.parse(value) as T } catch { return fallback }
}

export function dockerRuntime (init: DockerRuntimeInit = {}): (components?: DockerRuntimeComponents) => DockerRuntime {
  return (components = {}) => createDockerRuntime(init, components)
}

function createDockerRuntime (init: DockerRuntimeInit, components: DockerRuntimeComponents): DockerRuntime {
  const docker = components.docker ?? new Docker(dockerOptions(init.dockerHost))
  const instance = init.instance ?? DEFAULT_INSTANCE
  const hostIp = init.hostIp ?? '127.0.0.1'
  const publicHost = init.publicHost ?? (hostIp === '0.0.0.0' || hostIp === '::' ? '127.0.0.1' : hostIp)
  const timeoutMs = init.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS
  const onDockerCall = components.onDockerCall ?? init.onDockerCall
  const ociRuntime = init.ociRuntime
  if (ociRuntime != null && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(ociRuntime)) throw new SandboxConfigError(`OCI runtime ${JSON.stringify(ociRuntime)} is not a runtime name (like runc or runsc)`)
  const firewall: LeaseFirewall | undefined = (init.firewall ?? 'iptables') === 'iptables'
    ? leaseFirewall({ instance, allow: init.allowNetworks, block: init.blockNetworks, iptables: init.iptables })
    : undefined
  const registries = registryPolicy({ allow: init.allowRegistries, block: init.blockNetworks })
  const store: VolumeStore | undefined = init.volumeStore != null ? volumeStore({ dir: init.volumeStore }) : undefined
  /** overlay2 enforces `size` only on xfs with pquota (and btrfs, zfs, devicemapper do): probed once */
  let storageOptSupported: boolean | undefined
  /** notices of leases deployed or adopted by this process */
  const noticesByLease = new Map<string, RuntimeNotice[]>()
  let facts: Promise<EngineFacts> | undefined

  async function call<T> (name: string, fn: () => Promise<T>, opts: { timeout?: boolean } = {}): Promise<T> {
    const t0 = performance.now()
    let timer: NodeJS.Timeout | undefined
    try {
      const p = fn()
      if (opts.timeout === false) return await p
      return await Promise.race([p, new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new RuntimeUnavailableError(`Docker API call ${name} timed out after ${timeoutMs} ms`)) }, timeoutMs)
      })])
    } catch (err) {
      throw mapDockerError(err, name)
    } finally {
      clearTimeout(timer)
      onDockerCall?.(name, performance.now() - t0)
    }
  }

  function leaseFilter (leaseId: string): { label: string[] } {
    return { label: [`${LABEL_LEASE}=${leaseId}`, `${LABEL_INSTANCE}=${instance}`] }
  }

  async function leaseContainers (leaseId: string): Promise<ContainerInfo[]> {
    return await call('container.list', async () => await docker.listContainers({ all: true, filters: leaseFilter(leaseId) }))
  }

  interface EngineFacts {
    ociRuntime: string
    userNamespaces: boolean
    /** who root in a container is on the host (userns-remap), so volumes are made writable for it */
    rootOwner: { uid: number, gid: number }
    storageDriver: string
    backingFs: string
  }

  /** what the engine offers, checked against what this provider asked for; a failed check is not remembered */
  async function engine (): Promise<EngineFacts> {
    facts ??= (async () => {
      const info = await call('info', async () => await docker.info()) as {
        Runtimes?: Record<string, unknown>, DefaultRuntime?: string, SecurityOptions?: string[], Driver?: string, DriverStatus?: Array<[string, string]>, DockerRootDir?: string
      }
      const runtimes = Object.keys(info.Runtimes ?? {})
      if (ociRuntime != null && !runtimes.includes(ociRuntime)) {
        throw new SandboxUnavailableError('oci-runtime', `the engine has no OCI runtime ${JSON.stringify(ociRuntime)} (it has ${runtimes.join(', ') || 'none'}); register it in the engine's daemon.json (docs/provider-docker.md)`)
      }
      await firewall?.check()
      await store?.check()
      const backingFs = (info.DriverStatus ?? []).find(([k]) => k === 'Backing Filesystem')?.[1] ?? ''
      const driver = info.Driver ?? ''
      if (storageOptSupported == null) {
        if (['btrfs', 'zfs', 'devicemapper'].includes(driver)) storageOptSupported = true
        else if (driver === 'overlay2' && backingFs === 'xfs') storageOptSupported = await probeStorageOpt()
        else storageOptSupported = false
      }
      const userNamespaces = (info.SecurityOptions ?? []).some((o) => /name=userns/.test(o))
      // with userns-remap the engine's root directory ends in <uid>.<gid> of the remapped root
      const remap = userNamespaces ? /\/(\d+)\.(\d+)\/?$/.exec(info.DockerRootDir ?? '') : null
      return {
        ociRuntime: ociRuntime ?? info.DefaultRuntime ?? 'runc',
        userNamespaces,
        rootOwner: remap != null ? { uid: Number(remap[1]), gid: Number(remap[2]) } : { uid: 0, gid: 0 },
        storageDriver: driver,
        backingFs
      }
    })()
    try {
      return await facts
    } catch (err) {
      facts = undefined
      throw err
    }
  }

  /** whether a container can be made with a writable layer of a fixed size (xfs needs the pquota mount option) */
  async function probeStorageOpt (): Promise<boolean> {
    const images = await call('image.list', async () => await docker.listImages())
    const image = images.find((i) => (i.RepoTags ?? []).some((t) => t !== '<none>:<none>'))
    if (image == null) return false
    try {
      const c = await docker.createContainer({ Image: image.Id, name: `souk-probe-${randomBytes(6).toString('hex')}`, HostConfig: { StorageOpt: { size: '64M' } }, Labels: { [LABEL_INSTANCE]: instance } })
      await c.remove({ force: true }).catch(() => {})
      return true
    } catch {
      return false
    }
  }

  async function pull (image: string, auth: Record<string, string> | undefined, opts: DeployOptions): Promise<void> {
    opts.onProgress?.({ type: 'runtime:image:pull', detail: { image, credentials: auth != null } })
    await call('image.pull', async () => {
      const stream = await docker.pull(image, { ...(auth != null ? { authconfig: auth } : {}), abortSignal: opts.signal })
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(stream, (err: Error | null) => { if (err != null) reject(err); else resolve() })
      })
    }, { timeout: false })
  }

  function pullFailure (image: string, err: unknown): RuntimeError {
    if (err instanceof RuntimeUnavailableError && (err.cause as { code?: string })?.code !== 'EAI_AGAIN') return err
    return new ImageUnavailableError(image, `cannot be pulled: ${messageOf(err)}`, err)
  }

  /**
   * Makes the image available for one service, or refuses it. With registry credentials the
   * image is always pulled, so the registry checks them, and marked private; without them a local
   * image is used only if it is not marked private, else it must pull anonymously.
   */
  async function ensureImage (image: string, service: ServiceManifest, opts: DeployOptions): Promise<void> {
    let local: { RepoTags?: string[] } | undefined
    try {
      local = await call('image.inspect', async () => await docker.getImage(image).inspect())
    } catch (err) {
      if (!(err instanceof RuntimeRequestError && err.status === 404)) throw err
    }
    const creds = service.credentials
    if (creds == null) {
      const isPrivate = (local?.RepoTags ?? []).some(isPrivateMarker)
      if (local != null && !isPrivate) return
      if (init.pull === 'never') {
        if (isPrivate) throw new ImageRefusedError(image, 'it was pulled with another deployment\'s registry credentials, this deployment gives none, and this provider does not pull to check whether it is public')
        throw new ImageUnavailableError(image, 'not present on this provider and pulling is disabled')
      }
      await registries.check(image)
      try {
        await pull(image, undefined, opts)
      } catch (err) {
        if (isPrivate) throw new ImageRefusedError(image, `it is private (pulled here with another deployment's registry credentials) and this deployment gives none: an anonymous pull failed (${messageOf(err)})`)
        throw pullFailure(image, err)
      }
      // an anonymous pull worked: the image is public after all
      if (isPrivate) await call('image.untag', async () => await docker.getImage(`${privateMarker(image).repo}:${privateMarker(image).tag}`).remove({ noprune: true })).catch(() => {})
      return
    }
    if (init.pull === 'never') throw new ImageRefusedError(image, 'the deployment gives registry credentials and this provider does not pull, so it cannot have the registry check them')
    await registries.check(image)
    const auth = { username: creds.username, password: creds.password, serveraddress: creds.host, ...(creds.email != null ? { email: creds.email } : {}) }
    try {
      await pull(image, auth, opts)
    } catch (err) {
      throw pullFailure(image, err)
    }
    // a deployment without credentials will have to prove access to this image again
    const marker = privateMarker(image)
    await call('image.tag', async () => await docker.getImage(image).tag({ repo: marker.repo, tag: marker.tag }))
  }

  async function createVolume (v: ContainerSpec['volumes'][number]): Promise<void> {
    let existing: { Labels?: Record<string, string> | null } | undefined
    try {
      existing = await call('volume.inspect', async () => await docker.getVolume(v.name).inspect())
    } catch (err) {
      if (!(err instanceof RuntimeRequestError && err.status === 404)) throw err
    }
    if (existing != null) {
      // the same lease's volume (an update keeps its data); anything else is not ours to hand over
      if (existing.Labels?.[LABEL_LEASE] !== v.labels[LABEL_LEASE] || existing.Labels?.[LABEL_INSTANCE] !== v.labels[LABEL_INSTANCE]) {
        throw new RuntimeRequestError(`volume ${v.name} exists but belongs to another lease or provider; it is not reused`)
      }
      if (store != null && existing.Labels?.[LABEL_SIZE] != null) await store.ensure(v.name, v.size, (await engine()).rootOwner)
      return
    }
    if (store == null) {
      await call('volume.create', async () => await docker.createVolume({ Name: v.name, Labels: v.labels }))
      return
    }
    const dir = await store.ensure(v.name, v.size, (await engine()).rootOwner)
    try {
      await call('volume.create', async () => await docker.createVolume({
        Name: v.name,
        Labels: { ...v.labels, [LABEL_SIZE]: String(v.size) },
        Driver: 'local',
        DriverOpts: { type: 'none', o: 'bind', device: dir }
      }))
    } catch (err) {
      await store.remove(v.name).catch(() => {})
      throw err
    }
  }

  async function removeVolume (name: string, sized: boolean): Promise<void> {
    try {
      await call('volume.remove', async () => await docker.getVolume(name).remove())
    } catch (err) {
      if (!(err instanceof RuntimeRequestError && err.status === 404)) throw err
    }
    if (sized) await store?.remove(name)
  }

  async function createContainer (spec: ContainerSpec): Promise<Docker.Container> {
    return await call('container.create', async () => await docker.createContainer(spec.create))
  }

  function planSpecs (lease: LeaseRef, planned: PlannedService[], generation: number, notices: RuntimeNotice[]): ContainerSpec[] {
    const specs: ContainerSpec[] = []
    for (const p of planned) {
      for (let i = 0; i < p.service.count; i++) {
        specs.push(containerSpec({
          lease,
          group: p.group,
          service: p.service,
          replica: i,
          generation,
          network: networkName(lease.leaseId),
          instance,
          hostIp,
          pidsLimit: init.pidsLimit,
          restartPolicy: init.restartPolicy,
          maxRestarts: init.maxRestarts,
          capAdd: init.capAdd,
          storageOpt: storageOptSupported === true,
          sizedVolumes: store != null,
          ociRuntime,
          notices,
          logMaxSize: init.logMaxSize,
          logMaxFiles: init.logMaxFiles
        }))
      }
    }
    return specs
  }

  /** create and start containers; returns the IDs created so far even on failure (in `created`) */
  async function startReplicas (specs: ContainerSpec[], created: string[], opts: DeployOptions): Promise<RuntimeNotice[]> {
    const notices: RuntimeNotice[] = []
    for (const spec of specs) {
      opts.signal?.throwIfAborted()
      for (const v of spec.volumes) await createVolume(v)
      opts.onProgress?.({ type: 'runtime:replica:create', detail: { name: spec.name } })
      const container = await createContainer(spec)
      created.push(container.id)
      notices.push(...spec.notices)
      opts.onProgress?.({ type: 'runtime:replica:start', detail: { name: spec.name } })
      await call('container.start', async () => await container.start())
    }
    return notices
  }

  function dedupe (notices: RuntimeNotice[]): RuntimeNotice[] {
    const seen = new Set<string>()
    return notices.filter((n) => {
      const k = `${n.path}\u0000${n.code}`
      if (seen.has(k)) return false
      seen.add(k)
      return true
    })
  }

  async function removeContainers (ids: string[]): Promise<void> {
    for (const id of ids) {
      try {
        await call('container.remove', async () => await docker.getContainer(id).remove({ force: true, v: false }))
      } catch (err) {
        if (!(err instanceof RuntimeRequestError && (err.status === 404 || err.status === 409))) throw err
      }
    }
  }

  async function removeLease (leaseId: string): Promise<void> {
    const containers = await leaseContainers(leaseId)
    await removeContainers(containers.map((c) => c.Id))
    const volumes = await call('volume.list', async () => await docker.listVolumes({ filters: leaseFilter(leaseId) }))
    for (const v of volumes.Volumes ?? []) await removeVolume(v.Name, v.Labels?.[LABEL_SIZE] != null)
    const networks = await call('network.list', async () => await docker.listNetworks({ filters: leaseFilter(leaseId) }))
    for (const n of networks) {
      try {
        await call('network.remove', async () => await docker.getNetwork(n.Id).remove())
      } catch (err) {
        if (!(err instanceof RuntimeRequestError && err.status === 404)) throw err
      }
    }
    // the rules go last: nothing of the lease runs without them
    await firewall?.remove(leaseId)
    noticesByLease.delete(leaseId)
  }

  /** the Linux bridge of a lease network: Docker names it br-<first 12 of the network ID> unless told otherwise */
  function bridgeOf (n: { Id: string, Options?: Record<string, string> | null }): string {
    return n.Options?.['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`
  }

  function deployNotices (manifest: Manifest, planned: PlannedService[]): RuntimeNotice[] {
    const notices = commonNotices(manifest, planned, 'docker')
    if (planned.some((p) => p.service.resources.gpu.units > 0)) {
      notices.push({ path: 'services', code: 'gpu-driver', message: 'GPU replicas need the NVIDIA container toolkit on the provider; they fail to start without it' })
    }
    if (firewall == null) notices.push({ path: 'services', code: 'network-not-isolated', message: 'this provider does not isolate lease networks with souk\'s firewall (provider.sandbox.firewall: off)' })
    return notices
  }

  async function deploy (lease: LeaseRef, manifest: Manifest, opts: DeployOptions = {}): Promise<DeployedLease> {
    checkLeaseId(lease.leaseId)
    const planned = planServices(manifest)
    await engine()
    const notices = deployNotices(manifest, planned)
    // every spec is made (and its limits checked) before anything exists
    let specs: ContainerSpec[]
    try {
      specs = planSpecs(lease, planned, 1, notices)
    } catch (err) {
      if (err instanceof ContainerLimitsError) throw new DeployFailedError(`lease ${lease.leaseId} could not be deployed: ${err.message}`, err)
      throw err
    }
    const existing = await call('network.list', async () => await docker.listNetworks({ filters: leaseFilter(lease.leaseId) }))
    if (existing.length > 0 || (await leaseContainers(lease.leaseId)).length > 0) throw new LeaseExistsError(lease.leaseId)

    for (const image of new Set(planned.map((p) => p.service.image))) {
      opts.signal?.throwIfAborted()
      await ensureImage(image, planned.find((p) => p.service.image === image)!.service, opts)
    }
    const created: string[] = []
    try {
      opts.signal?.throwIfAborted()
      opts.onProgress?.({ type: 'runtime:network:create', detail: { name: networkName(lease.leaseId) } })
      const net = await call('network.create', async () => await docker.createNetwork({
        Name: networkName(lease.leaseId),
        Driver: 'bridge',
        CheckDuplicate: true,
        EnableIPv6: false,
        Labels: { ...leaseLabels(lease, instance) },
        Options: { 'com.docker.network.bridge.enable_icc': 'true' }
      }))
      if (firewall != null) {
        const info = await call('network.inspect', async () => await docker.getNetwork(net.id).inspect()) as { Id: string, Options?: Record<string, string> }
        opts.onProgress?.({ type: 'runtime:firewall:install', detail: { bridge: bridgeOf(info) } })
        await firewall.install(lease.leaseId, bridgeOf(info))
      }
      const specNotices = await startReplicas(specs, created, opts)
      noticesByLease.set(lease.leaseId, dedupe([...notices, ...specNotices]))
    } catch (err) {
      // leave nothing half-made behind; a failure to clean up is secondary to the cause
      await removeLease(lease.leaseId).catch(() => {})
      if (opts.signal?.aborted === true) throw new AbortedError('deploy was aborted; its objects were removed')
      const e = mapDockerError(err, 'deploy')
      if (e.transient || e instanceof ImageUnavailableError) throw e
      throw new DeployFailedError(`lease ${lease.leaseId} could not be deployed: ${e.message}`, e)
    }
    return await status(lease.leaseId)
  }

  async function update (leaseId: string, manifest: Manifest, opts: DeployOptions = {}): Promise<DeployedLease> {
    checkLeaseId(leaseId)
    const planned = planServices(manifest)
    const old = await leaseContainers(leaseId)
    if (old.length === 0) throw new LeaseNotFoundError(leaseId)
    await engine()
    const labels = old[0].Labels
    const lease: LeaseRef = { leaseId, tenant: labels[LABEL_TENANT] ?? '', provider: labels[LABEL_PROVIDER] ?? '' }
    const generation = Math.max(...old.map((c) => Number(c.Labels[LABEL_GENERATION] ?? 0))) + 1
    const notices = deployNotices(manifest, planned)
    const oldVolumes = new Map(((await call('volume.list', async () => await docker.listVolumes({ filters: leaseFilter(leaseId) }))).Volumes ?? []).map((v) => [v.Name, v.Labels?.[LABEL_SIZE] != null]))
    let specs: ContainerSpec[]
    try {
      specs = planSpecs(lease, planned, generation, notices)
    } catch (err) {
      throw new UpdateFailedError(`lease ${leaseId} keeps its previous manifest: ${messageOf(err)}`, err)
    }
    const created: string[] = []
    try {
      for (const image of new Set(planned.map((p) => p.service.image))) await ensureImage(image, planned.find((p) => p.service.image === image)!.service, opts)
      const specNotices = await startReplicas(specs, created, opts)
      // a replica whose process dies at once (bad command) fails the update too
      for (const id of created) {
        const info = await call('container.inspect', async () => await docker.getContainer(id).inspect())
        if (!info.State.Running && !info.State.Restarting) throw new RuntimeRequestError(`replica ${info.Name.replace(/^\//, '')} stopped right after starting (exit code ${info.State.ExitCode})`)
      }
      noticesByLease.set(leaseId, dedupe([...notices, ...specNotices]))
    } catch (err) {
      await removeContainers(created).catch(() => {})
      const newVolumes = specs.flatMap((s) => s.volumes.map((v) => v.name)).filter((n) => !oldVolumes.has(n))
      for (const v of newVolumes) await removeVolume(v, store != null).catch(() => {})
      throw new UpdateFailedError(`lease ${leaseId} keeps its previous manifest: ${messageOf(err)}`, mapDockerError(err, 'update'))
    }
    await removeContainers(old.map((c) => c.Id))
    const keep = new Set(specs.flatMap((s) => s.volumes.map((v) => v.name)))
    for (const [v, sized] of oldVolumes) {
      if (!keep.has(v)) await removeVolume(v, sized).catch(() => {})
    }
    return await status(leaseId)
  }

  function replicaUrls (info: ContainerInspectInfo): ServiceUrl[] {
    const exposes = parseJsonLabel<StoredExpose[]>(info.Config.Labels?.[LABEL_EXPOSE], [])
    const urls: ServiceUrl[] = []
    for (const e of exposes) {
      const binding = info.NetworkSettings?.Ports?.[`${e.port}/${e.proto}`]?.[0]
      if (binding?.HostPort == null || binding.HostPort === '') continue
      urls.push(formatUrl(e.s, { port: e.port, as: e.as, proto: e.proto }, publicHost, Number(binding.HostPort)))
    }
    return urls
  }

  async function status (leaseId: string): Promise<DeployedLease> {
    checkLeaseId(leaseId)
    const list = await leaseContainers(leaseId)
    if (list.length === 0) {
      const networks = await call('network.list', async () => await docker.listNetworks({ filters: leaseFilter(leaseId) }))
      if (networks.length === 0) throw new LeaseNotFoundError(leaseId)
    }
    const infos: ContainerInspectInfo[] = []
    for (const c of list) {
      try {
        infos.push(await call('container.inspect', async () => await docker.getContainer(c.Id).inspect()))
      } catch (err) {
        if (!(err instanceof RuntimeRequestError && err.status === 404)) throw err
      }
    }
    const services = new Map<string, ServiceStatus>()
    let tenant = ''
    let provider = ''
    let notices = noticesByLease.get(leaseId)
    for (const info of infos.sort((a, b) => a.Name.localeCompare(b.Name))) {
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
      const urls = state === 'running' ? replicaUrls(info) : []
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

  async function * logs (leaseId: string, opts: LogOptions = {}): AsyncGenerator<LogLine> {
    checkLeaseId(leaseId)
    const containers = (await leaseContainers(leaseId)).filter((c) => opts.service == null || c.Labels[LABEL_SERVICE] === opts.service)
    if (containers.length === 0) {
      if (opts.service != null) throw new ServiceNotFoundError(leaseId, opts.service)
      throw new LeaseNotFoundError(leaseId)
    }
    const streams: NodeJS.ReadableStream[] = []
    // bounded in bytes: a reader that falls behind pauses the containers' log streams
    const queue = new ByteQueue<LogLine>({
      size: (l) => l.line.length + l.replica.length,
      pause: () => { for (const s of streams) s.pause() },
      resume: () => { for (const s of streams) s.resume() }
    })
    const abort = new AbortController()
    const onAbort = (): void => { abort.abort() }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    if (opts.signal?.aborted === true) abort.abort()
    let open = containers.length
    const done = (err?: unknown): void => {
      if (err != null && !abort.signal.aborted) { queue.end(mapDockerError(err, 'container.logs')); return }
      if (--open === 0) queue.end()
    }
    const consume = (stream: NodeJS.ReadableStream, feed: (chunk: Uint8Array) => void, flush: () => void): void => {
      streams.push(stream)
      if (queue.bytes > 0) stream.pause()
      stream.on('data', (chunk: Uint8Array) => { try { feed(chunk) } catch (err) { done(err) } })
      stream.on('end', () => { flush(); done() })
      stream.on('error', (err) => { flush(); done(abort.signal.aborted ? undefined : err) })
    }
    for (const c of containers) {
      const service = c.Labels[LABEL_SERVICE] ?? ''
      const replica = (c.Names[0] ?? c.Id).replace(/^\//, '')
      const decoder = new DockerFrameDecoder()
      const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() }
      const feed = (chunk: Uint8Array): void => {
        for (const f of decoder.push(chunk)) {
          for (const line of splitters[f.stream].push(f.data)) queue.push({ service, replica, stream: f.stream, line })
        }
      }
      const flush = (): void => {
        for (const stream of ['stdout', 'stderr'] as const) {
          for (const line of splitters[stream].flush()) queue.push({ service, replica, stream, line })
        }
      }
      const container = docker.getContainer(c.Id)
      const base = { stdout: true as const, stderr: true as const, tail: opts.tail != null ? opts.tail : 'all' as unknown as number, abortSignal: abort.signal }
      if (opts.follow === true) {
        call('container.logs', async () => await container.logs({ ...base, follow: true }), { timeout: false }).then((stream) => {
          consume(stream, feed, flush)
        }, (err) => { done(abort.signal.aborted ? undefined : err) })
      } else {
        // the engine answers with the whole log at once (at most logMaxSize × logMaxFiles); it is
        // handed on in pieces, as fast as the reader takes them
        call('container.logs', async () => await container.logs({ ...base, follow: false })).then((buf) => {
          const pieces: Uint8Array[] = []
          for (let i = 0; i < buf.length; i += 64 * 1024) pieces.push(buf.subarray(i, i + 64 * 1024))
          consume(Readable.from(pieces, { objectMode: false }), feed, flush)
        }, (err) => { done(err) })
      }
    }
    abort.signal.addEventListener('abort', () => { queue.end() }, { once: true })
    try {
      yield * queue
    } finally {
      opts.signal?.removeEventListener('abort', onAbort)
      abort.abort()
      for (const s of streams) (s as unknown as { destroy?: () => void }).destroy?.()
    }
  }

  async function * events (leaseId: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<RuntimeEvent> {
    checkLeaseId(leaseId)
    const abort = new AbortController()
    const onAbort = (): void => { abort.abort() }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    if (opts.signal?.aborted === true) return
    const queue = new AsyncQueue<RuntimeEvent>(1000)
    const stream = await call('events', async () => await docker.getEvents({ filters: { ...leaseFilter(leaseId), type: ['container'] }, abortSignal: abort.signal }))
    const splitter = new LineSplitter()
    stream.on('data', (chunk: Uint8Array) => {
      for (const line of splitter.push(chunk)) {
        const e = parseJsonLabel<{ Action?: string, timeNano?: number, time?: number, Actor?: { ID?: string, Attributes?: Record<string, string> } } | null>(line, null)
        if (e?.Action == null) continue
        const attrs = e.Actor?.Attributes ?? {}
        const type = e.Action.split(':')[0].trim()
        const evt: RuntimeEvent = { type, leaseId, time: e.timeNano != null ? Math.floor(e.timeNano / 1e6) : (e.time ?? 0) * 1000 }
        if (attrs[LABEL_SERVICE] != null) evt.service = attrs[LABEL_SERVICE]
        if (attrs.name != null) evt.replica = attrs.name
        if (type === 'die' && attrs.exitCode != null) evt.message = `exit code ${attrs.exitCode}`
        queue.push(evt)
      }
    })
    stream.on('end', () => { queue.end() })
    stream.on('error', (err) => { queue.end(abort.signal.aborted ? undefined : mapDockerError(err, 'events')) })
    abort.signal.addEventListener('abort', () => { queue.end() }, { once: true })
    try {
      yield * queue
    } finally {
      opts.signal?.removeEventListener('abort', onAbort)
      abort.abort()
      ;(stream as unknown as { destroy?: () => void }).destroy?.()
    }
  }

  async function exec (leaseId: string, opts: ExecOptions): Promise<ExecHandle> {
    checkLeaseId(leaseId)
    if (!Array.isArray(opts.command) || opts.command.length === 0 || opts.command.some((c) => typeof c !== 'string')) {
      throw new RuntimeRequestError('exec: command must be a non-empty list of strings')
    }
    const containers = await leaseContainers(leaseId)
    if (containers.length === 0) throw new LeaseNotFoundError(leaseId)
    const target = containers
      .filter((c) => c.Labels[LABEL_SERVICE] === opts.service && c.State === 'running')
      .filter((c) => opts.replica == null || c.Labels[LABEL_REPLICA] === String(opts.replica))
      .sort((a, b) => Number(a.Labels[LABEL_REPLICA]) - Number(b.Labels[LABEL_REPLICA]))[0]
    if (target == null) throw new ServiceNotFoundError(leaseId, opts.service)
    const tty = opts.tty === true
    const ex = await call('exec.create', async () => await docker.getContainer(target.Id).exec({
      Cmd: opts.command, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: tty
    }))
    const stream = await call('exec.start', async () => await ex.start({ hijack: true, stdin: true, Tty: tty }))
    // bounded in bytes: output the reader has not taken yet pauses the exec's stream
    const queue = new ByteQueue<ExecOutput>({ size: (o) => o.data.length, pause: () => { stream.pause() }, resume: () => { stream.resume() } })
    const decoder = new DockerFrameDecoder()
    stream.on('data', (chunk: Uint8Array) => {
      if (tty) { queue.push({ stream: 'stdout', data: new Uint8Array(chunk) }); return }
      try {
        for (const f of decoder.push(chunk)) queue.push(f)
      } catch (err) { queue.end(err) }
    })
    const finished = new Promise<void>((resolve) => {
      stream.on('end', () => { resolve() })
      stream.on('close', () => { resolve() })
      stream.on('error', () => { resolve() })
    })
    const exitCode = finished.then(async () => {
      queue.end()
      // the exit code lands a moment after the stream closes
      for (let i = 0; i < 50; i++) {
        const info = await call('exec.inspect', async () => await ex.inspect())
        if (!info.Running && info.ExitCode != null) return info.ExitCode
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      throw new RuntimeUnavailableError('exec finished but Docker reported no exit code')
    })
    exitCode.catch(() => {})
    const onAbort = (): void => { (stream as unknown as { destroy: () => void }).destroy() }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    void finished.then(() => opts.signal?.removeEventListener('abort', onAbort))
    const writable = stream as unknown as NodeJS.WritableStream
    return {
      stdin: {
        write: (data) => { writable.write(typeof data === 'string' ? data : Buffer.from(data)) },
        end: () => { writable.end() }
      },
      output: queue,
      exitCode
    }
  }

  async function close (leaseId: string): Promise<void> {
    checkLeaseId(leaseId)
    await removeLease(leaseId)
  }

  /** lease IDs of every object this instance owns, from containers, networks and volumes */
  async function ownedLeases (): Promise<{ leases: Map<string, LeaseSummary>, containers: ContainerInfo[] }> {
    const filter = { label: [LABEL_LEASE, `${LABEL_INSTANCE}=${instance}`] }
    const containers = await call('container.list', async () => await docker.listContainers({ all: true, filters: filter }))
    const networks = await call('network.list', async () => await docker.listNetworks({ filters: filter }))
    const volumes = (await call('volume.list', async () => await docker.listVolumes({ filters: filter }))).Volumes ?? []
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
    return { leases, containers }
  }

  async function list (): Promise<LeaseSummary[]> {
    return [...(await ownedLeases()).leases.values()]
  }

  async function reconcile (activeLeaseIds: Set<string>): Promise<ReconcileResult> {
    // everything is listed before anything is removed: if the engine is unreachable this throws
    // a RuntimeUnavailableError and no object is touched
    const { leases, containers } = await ownedLeases()
    const withRules = firewall != null ? await firewall.leases() : []
    const adopted: string[] = []
    const removed: string[] = []
    const unrepaired: string[] = []
    for (const leaseId of leases.keys()) {
      if (activeLeaseIds.has(leaseId)) {
        adopted.push(leaseId)
        if (!noticesByLease.has(leaseId)) {
          const c = containers.find((x) => x.Labels[LABEL_LEASE] === leaseId)
          noticesByLease.set(leaseId, parseJsonLabel<RuntimeNotice[]>(c?.Labels[LABEL_NOTICES], []))
        }
        // after a restart of the host the rules and the volume mounts are gone: put them back
        try {
          await repair(leaseId)
        } catch (err) {
          unrepaired.push(`${leaseId.slice(0, 16)}…: ${messageOf(err)}`)
        }
      } else {
        await removeLease(leaseId)
        removed.push(leaseId)
      }
    }
    // rules whose lease has no objects left (a crash between removing the network and the rules)
    for (const leaseId of withRules) {
      if (!leases.has(leaseId)) await firewall?.remove(leaseId)
    }
    if (unrepaired.length > 0) throw new SandboxUnavailableError('reconcile', `the sandbox of ${unrepaired.length} lease(s) could not be repaired: ${unrepaired.join('; ')}`)
    return { adopted, removed }
  }

  async function repair (leaseId: string): Promise<void> {
    await engine()
    if (firewall != null) {
      for (const n of await call('network.list', async () => await docker.listNetworks({ filters: leaseFilter(leaseId) }))) await firewall.install(leaseId, bridgeOf(n))
    }
    if (store != null) {
      const volumes = (await call('volume.list', async () => await docker.listVolumes({ filters: leaseFilter(leaseId) }))).Volumes ?? []
      for (const v of volumes) {
        const size = Number(v.Labels?.[LABEL_SIZE])
        if (Number.isSafeInteger(size) && size > 0) await store.ensure(v.Name, size, (await engine()).rootOwner)
      }
    }
  }

  async function sandbox (): Promise<SandboxReport> {
    const notes: string[] = []
    let f: EngineFacts | undefined
    try {
      f = await engine()
    } catch (err) {
      notes.push(`the sandbox is not available, so no lease can start: ${messageOf(err)}`)
    }
    const ephemeral: StorageEnforcement = storageOptSupported === true ? 'quota' : 'none'
    if (ephemeral === 'none') notes.push(`the storage driver (${f?.storageDriver ?? 'unknown'} on ${f?.backingFs ?? 'unknown'}) cannot limit a container's writable layer; overlay2 on xfs mounted with pquota can`)
    if (store == null) notes.push('persistent volumes are Docker local volumes, which nothing limits; set provider.sandbox.volumeStore for sized volumes')
    if (firewall == null) notes.push('lease networks are not isolated by souk (provider.sandbox.firewall: off)')
    if (f?.userNamespaces !== true) notes.push('root in a container is root on the host (the engine runs without userns-remap)')
    return {
      runtime: 'docker',
      ociRuntime: f?.ociRuntime ?? ociRuntime ?? 'runc',
      userNamespaces: f?.userNamespaces ?? false,
      network: firewall != null ? { isolation: 'iptables', allowed: firewall.describe().allow, blocked: firewall.describe().block } : { isolation: 'none', allowed: [], blocked: [] },
      storage: { ephemeral, persistent: store != null ? 'loop' : 'none', ram: 'tmpfs' },
      notes
    }
  }

  return { name: 'docker', docker, deploy, update, status, logs, events, exec, close, list, reconcile, sandbox }
}
