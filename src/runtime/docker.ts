// Docker runtime: one bridge network per lease, one container per replica, named volumes for
// persistent storage. All state lives in object labels, so a restarted provider can list,
// adopt and clean up what an earlier process created.
import { performance } from 'node:perf_hooks'
import Docker from 'dockerode'
import type { ContainerCreateOptions, ContainerInfo, ContainerInspectInfo } from 'dockerode'
import {
  DEFAULT_API_TIMEOUT_MS, DEFAULT_CAP_ADD, DEFAULT_INSTANCE, DEFAULT_PIDS_LIMIT, LABEL_COUNT, LABEL_EXPOSE, LABEL_GENERATION, LABEL_GROUP,
  LABEL_INSTANCE, LABEL_LEASE, LABEL_NOTICES, LABEL_PROVIDER, LABEL_REPLICA, LABEL_SERVICE, LABEL_TENANT, NAME_PREFIX
} from './constants.ts'
import {
  AbortedError, DeployFailedError, ImageUnavailableError, LeaseExistsError, LeaseNotFoundError, RuntimeError, RuntimeRequestError,
  RuntimeUnavailableError, ServiceNotFoundError, UpdateFailedError
} from './errors.ts'
import { checkLeaseId, commonNotices, formatUrl, isGlobal, leaseNameKey, planServices, urlScheme } from './manifest-plan.ts'
import type { PlannedService } from './manifest-plan.ts'
import { AsyncQueue, DockerFrameDecoder, LineSplitter } from './streams.ts'
import type {
  ContainerRuntime, DeployedLease, DeployOptions, ExecHandle, ExecOptions, ExecOutput, LeaseRef, LeaseSummary, LogLine, LogOptions,
  ReconcileResult, ReplicaState, ReplicaStatus, RuntimeEvent, RuntimeNotice, ServiceStatus, ServiceUrl
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
  volumes: Array<{ name: string, labels: Record<string, string> }>
  notices: RuntimeNotice[]
}

interface StoredExpose { port: number, as: number, proto: 'tcp' | 'udp', s: 'http' | 'tcp' | 'udp' }

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
    volumes.push({ name, labels: { ...leaseLabels(lease, instance), [LABEL_SERVICE]: service.name, [LABEL_REPLICA]: String(replica) } })
    mounts.push({ Type: 'volume', Source: name, Target: params.mount, ReadOnly: params.readOnly })
    notices.push({ path: `${path}.resources.storage.${s.name}`, code: 'volume-size-not-enforced', message: `Docker's local volume driver does not limit volume size; ${s.size} bytes are reserved but not enforced` })
  }

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
      NanoCpus: Math.max(1, Math.round(service.resources.cpu * 1e6)),
      Memory: service.resources.memory,
      // no swap: the memory limit is the whole allowance
      MemorySwap: service.resources.memory,
      PidsLimit: input.pidsLimit ?? DEFAULT_PIDS_LIMIT,
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
  /** learned on the first create: overlay2 enforces `size` only on xfs with pquota */
  let storageOptSupported: boolean | undefined
  /** notices of leases deployed or adopted by this process */
  const noticesByLease = new Map<string, RuntimeNotice[]>()

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

  async function ensureImage (image: string, service: ServiceManifest, opts: DeployOptions): Promise<void> {
    try {
      await call('image.inspect', async () => await docker.getImage(image).inspect())
      return
    } catch (err) {
      if (!(err instanceof RuntimeRequestError && err.status === 404)) throw err
    }
    if (init.pull === 'never') throw new ImageUnavailableError(image, 'not present on this provider and pulling is disabled')
    opts.onProgress?.({ type: 'runtime:image:pull', detail: { image } })
    const auth = service.credentials != null
      ? { username: service.credentials.username, password: service.credentials.password, serveraddress: service.credentials.host, ...(service.credentials.email != null ? { email: service.credentials.email } : {}) }
      : undefined
    try {
      await call('image.pull', async () => {
        const stream = await docker.pull(image, { ...(auth != null ? { authconfig: auth } : {}), abortSignal: opts.signal })
        await new Promise<void>((resolve, reject) => {
          docker.modem.followProgress(stream, (err: Error | null) => { if (err != null) reject(err); else resolve() })
        })
      }, { timeout: false })
    } catch (err) {
      if (err instanceof RuntimeUnavailableError && (err.cause as { code?: string })?.code !== 'EAI_AGAIN') throw err
      throw new ImageUnavailableError(image, `cannot be pulled: ${messageOf(err)}`, err)
    }
  }

  async function createVolume (v: { name: string, labels: Record<string, string> }): Promise<void> {
    try {
      await call('volume.inspect', async () => await docker.getVolume(v.name).inspect())
      return
    } catch (err) {
      if (!(err instanceof RuntimeRequestError && err.status === 404)) throw err
    }
    await call('volume.create', async () => await docker.createVolume({ Name: v.name, Labels: v.labels }))
  }

  async function createContainer (spec: ContainerSpec): Promise<Docker.Container> {
    try {
      return await call('container.create', async () => await docker.createContainer(spec.create))
    } catch (err) {
      const storage = spec.create.HostConfig?.StorageOpt
      if (storage != null && err instanceof RuntimeRequestError && /storage.?opt|quota|size/i.test(err.message)) {
        storageOptSupported = false
        const create = { ...spec.create, HostConfig: { ...spec.create.HostConfig } }
        delete create.HostConfig.StorageOpt
        return await call('container.create', async () => await docker.createContainer(create))
      }
      throw err
    }
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
          storageOpt: storageOptSupported !== false,
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
      const hadStorageOpt = spec.create.HostConfig?.StorageOpt != null
      const container = await createContainer(spec)
      created.push(container.id)
      if (hadStorageOpt && storageOptSupported === false) {
        notices.push({ path: `services.${spec.create.Labels?.[LABEL_SERVICE] ?? ''}.resources.storage`, code: 'storage-size-not-enforced', message: 'the Docker storage driver cannot limit the writable layer; ephemeral storage size is not enforced' })
      } else if (hadStorageOpt) {
        storageOptSupported = true
      }
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
    for (const v of volumes.Volumes ?? []) {
      try {
        await call('volume.remove', async () => await docker.getVolume(v.Name).remove())
      } catch (err) {
        if (!(err instanceof RuntimeRequestError && err.status === 404)) throw err
      }
    }
    const networks = await call('network.list', async () => await docker.listNetworks({ filters: leaseFilter(leaseId) }))
    for (const n of networks) {
      try {
        await call('network.remove', async () => await docker.getNetwork(n.Id).remove())
      } catch (err) {
        if (!(err instanceof RuntimeRequestError && err.status === 404)) throw err
      }
    }
    noticesByLease.delete(leaseId)
  }

  async function deploy (lease: LeaseRef, manifest: Manifest, opts: DeployOptions = {}): Promise<DeployedLease> {
    checkLeaseId(lease.leaseId)
    const planned = planServices(manifest)
    const notices = commonNotices(manifest, planned, 'docker')
    if (planned.some((p) => p.service.resources.gpu.units > 0)) {
      notices.push({ path: 'services', code: 'gpu-driver', message: 'GPU replicas need the NVIDIA container toolkit on the provider; they fail to start without it' })
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
      await call('network.create', async () => await docker.createNetwork({
        Name: networkName(lease.leaseId),
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { ...leaseLabels(lease, instance) },
        Options: { 'com.docker.network.bridge.enable_icc': 'true' }
      }))
      const specNotices = await startReplicas(planSpecs(lease, planned, 1, notices), created, opts)
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
    const labels = old[0].Labels
    const lease: LeaseRef = { leaseId, tenant: labels[LABEL_TENANT] ?? '', provider: labels[LABEL_PROVIDER] ?? '' }
    const generation = Math.max(...old.map((c) => Number(c.Labels[LABEL_GENERATION] ?? 0))) + 1
    const notices = commonNotices(manifest, planned, 'docker')
    const oldVolumes = new Set(((await call('volume.list', async () => await docker.listVolumes({ filters: leaseFilter(leaseId) }))).Volumes ?? []).map((v) => v.Name))
    const specs = planSpecs(lease, planned, generation, notices)
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
      for (const v of newVolumes) await call('volume.remove', async () => await docker.getVolume(v).remove()).catch(() => {})
      throw new UpdateFailedError(`lease ${leaseId} keeps its previous manifest: ${messageOf(err)}`, mapDockerError(err, 'update'))
    }
    await removeContainers(old.map((c) => c.Id))
    const keep = new Set(specs.flatMap((s) => s.volumes.map((v) => v.name)))
    for (const v of oldVolumes) {
      if (!keep.has(v)) await call('volume.remove', async () => await docker.getVolume(v).remove()).catch(() => {})
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
    const queue = new AsyncQueue<LogLine>()
    const abort = new AbortController()
    const onAbort = (): void => { abort.abort() }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    if (opts.signal?.aborted === true) abort.abort()
    let open = containers.length
    const done = (err?: unknown): void => {
      if (err != null && !abort.signal.aborted) { queue.end(mapDockerError(err, 'container.logs')); return }
      if (--open === 0) queue.end()
    }
    const streams: NodeJS.ReadableStream[] = []
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
          streams.push(stream)
          stream.on('data', (chunk: Uint8Array) => { try { feed(chunk) } catch (err) { done(err) } })
          stream.on('end', () => { flush(); done() })
          stream.on('error', (err) => { flush(); done(abort.signal.aborted ? undefined : err) })
        }, (err) => { done(abort.signal.aborted ? undefined : err) })
      } else {
        call('container.logs', async () => await container.logs({ ...base, follow: false })).then((buf) => {
          feed(buf)
          flush()
          done()
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
    const queue = new AsyncQueue<ExecOutput>()
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
    const adopted: string[] = []
    const removed: string[] = []
    for (const leaseId of leases.keys()) {
      if (activeLeaseIds.has(leaseId)) {
        adopted.push(leaseId)
        if (!noticesByLease.has(leaseId)) {
          const c = containers.find((x) => x.Labels[LABEL_LEASE] === leaseId)
          noticesByLease.set(leaseId, parseJsonLabel<RuntimeNotice[]>(c?.Labels[LABEL_NOTICES], []))
        }
      } else {
        await removeLease(leaseId)
        removed.push(leaseId)
      }
    }
    return { adopted, removed }
  }

  return { name: 'docker', docker, deploy, update, status, logs, events, exec, close, list, reconcile }
}
