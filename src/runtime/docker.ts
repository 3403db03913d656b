// Docker runtime: one bridge network per lease, one container per replica, named volumes for
// persistent storage. All state lives in object labels, so a restarted provider can list,
// adopt and clean up what an earlier process created. The specs are made in docker-spec.ts,
// the streams (logs, events, exec) live in docker-streams.ts; this file drives the engine.
import type Docker from 'dockerode'
import type { ContainerInfo, ContainerInspectInfo } from 'dockerode'
import { DEFAULT_API_TIMEOUT_MS, DEFAULT_INSTANCE, LABEL_GENERATION, LABEL_INSTANCE, LABEL_LEASE, LABEL_NOTICES, LABEL_PROVIDER, LABEL_SIZE, LABEL_TENANT } from './constants.ts'
import {
  AbortedError, ContainerLimitsError, DeployFailedError, ImageUnavailableError, LeaseExistsError, LeaseNotFoundError, RuntimeRequestError,
  SandboxConfigError, SandboxUnavailableError, UpdateFailedError
} from './errors.ts'
import { dockerCaller, dockerClient, isStatus, mapDockerError, messageOf } from './docker-client.ts'
import { engineProbe } from './docker-engine.ts'
import type { EngineFacts } from './docker-engine.ts'
import { imageSource } from './docker-images.ts'
import { bridgeOf, containerSpec, dedupeNotices, deployNotices, leaseFilter, leaseStatus, networkName, networkSpec, ownedLeaseSummaries, parseJsonLabel } from './docker-spec.ts'
import type { ContainerSpec } from './docker-spec.ts'
import { dockerEvents, dockerExec, dockerLogs } from './docker-streams.ts'
import type { DockerLeaseAccess } from './docker-streams.ts'
import { leaseFirewall } from './firewall.ts'
import type { LeaseFirewall } from './firewall.ts'
import { registryPolicy } from './image-policy.ts'
import { volumeStore } from './volume-store.ts'
import type { VolumeStore } from './volume-store.ts'
import { checkLeaseId, planServices } from './manifest-plan.ts'
import type { PlannedService } from './manifest-plan.ts'
import type {
  ContainerRuntime, DeployedLease, DeployOptions, LeaseRef, LeaseSummary, ReconcileResult, RuntimeNotice, SandboxReport, StorageEnforcement
} from './interface.ts'
import type { Manifest } from '../sdl/types.ts'

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

export function dockerRuntime (init: DockerRuntimeInit = {}): (components?: DockerRuntimeComponents) => DockerRuntime {
  return (components = {}) => createDockerRuntime(init, components)
}

function createDockerRuntime (init: DockerRuntimeInit, components: DockerRuntimeComponents): DockerRuntime {
  const docker = components.docker ?? dockerClient(init.dockerHost)
  const instance = init.instance ?? DEFAULT_INSTANCE
  const hostIp = init.hostIp ?? '127.0.0.1'
  const publicHost = init.publicHost ?? (hostIp === '0.0.0.0' || hostIp === '::' ? '127.0.0.1' : hostIp)
  const call = dockerCaller({ timeoutMs: init.apiTimeoutMs ?? DEFAULT_API_TIMEOUT_MS, onDockerCall: components.onDockerCall ?? init.onDockerCall })
  const ociRuntime = init.ociRuntime
  if (ociRuntime != null && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(ociRuntime)) throw new SandboxConfigError(`OCI runtime ${JSON.stringify(ociRuntime)} is not a runtime name (like runc or runsc)`)
  const firewall: LeaseFirewall | undefined = (init.firewall ?? 'iptables') === 'iptables'
    ? leaseFirewall({ instance, allow: init.allowNetworks, block: init.blockNetworks, iptables: init.iptables })
    : undefined
  const store: VolumeStore | undefined = init.volumeStore != null ? volumeStore({ dir: init.volumeStore }) : undefined
  const engine = engineProbe({ docker, call, instance, ociRuntime, firewall, store })
  const { ensureImage } = imageSource({ docker, call, pull: init.pull, registries: registryPolicy({ allow: init.allowRegistries, block: init.blockNetworks }) })
  /** notices of leases deployed or adopted by this process */
  const noticesByLease = new Map<string, RuntimeNotice[]>()
  const byLease = (leaseId: string): { label: string[] } => leaseFilter(leaseId, instance)

  async function leaseContainers (leaseId: string): Promise<ContainerInfo[]> {
    return await call('container.list', async () => await docker.listContainers({ all: true, filters: byLease(leaseId) }))
  }
  const access: DockerLeaseAccess = { docker, call, instance, leaseContainers }

  async function createVolume (v: ContainerSpec['volumes'][number]): Promise<void> {
    let existing: { Labels?: Record<string, string> | null } | undefined
    try {
      existing = await call('volume.inspect', async () => await docker.getVolume(v.name).inspect())
    } catch (err) {
      if (!isStatus(err, 404)) throw err
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
      if (!isStatus(err, 404)) throw err
    }
    if (sized) await store?.remove(name)
  }

  async function createContainer (spec: ContainerSpec): Promise<Docker.Container> {
    return await call('container.create', async () => await docker.createContainer(spec.create))
  }

  function planSpecs (lease: LeaseRef, planned: PlannedService[], generation: number, notices: RuntimeNotice[], facts: EngineFacts): ContainerSpec[] {
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
          storageOpt: facts.storageOpt,
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

  async function removeContainers (ids: string[]): Promise<void> {
    for (const id of ids) {
      try {
        await call('container.remove', async () => await docker.getContainer(id).remove({ force: true, v: false }))
      } catch (err) {
        if (!isStatus(err, 404, 409)) throw err
      }
    }
  }

  async function removeLease (leaseId: string): Promise<void> {
    const containers = await leaseContainers(leaseId)
    await removeContainers(containers.map((c) => c.Id))
    const volumes = await call('volume.list', async () => await docker.listVolumes({ filters: byLease(leaseId) }))
    for (const v of volumes.Volumes ?? []) await removeVolume(v.Name, v.Labels?.[LABEL_SIZE] != null)
    const networks = await call('network.list', async () => await docker.listNetworks({ filters: byLease(leaseId) }))
    for (const n of networks) {
      try {
        await call('network.remove', async () => await docker.getNetwork(n.Id).remove())
      } catch (err) {
        if (!isStatus(err, 404)) throw err
      }
    }
    // the rules go last: nothing of the lease runs without them
    await firewall?.remove(leaseId)
    noticesByLease.delete(leaseId)
  }

  async function deploy (lease: LeaseRef, manifest: Manifest, opts: DeployOptions = {}): Promise<DeployedLease> {
    checkLeaseId(lease.leaseId)
    const planned = planServices(manifest)
    const facts = await engine()
    const notices = deployNotices(manifest, planned, { firewall: firewall != null })
    // every spec is made (and its limits checked) before anything exists
    let specs: ContainerSpec[]
    try {
      specs = planSpecs(lease, planned, 1, notices, facts)
    } catch (err) {
      if (err instanceof ContainerLimitsError) throw new DeployFailedError(`lease ${lease.leaseId} could not be deployed: ${err.message}`, err)
      throw err
    }
    const existing = await call('network.list', async () => await docker.listNetworks({ filters: byLease(lease.leaseId) }))
    if (existing.length > 0 || (await leaseContainers(lease.leaseId)).length > 0) throw new LeaseExistsError(lease.leaseId)

    for (const image of new Set(planned.map((p) => p.service.image))) {
      opts.signal?.throwIfAborted()
      await ensureImage(image, planned.find((p) => p.service.image === image)!.service, opts)
    }
    const created: string[] = []
    try {
      opts.signal?.throwIfAborted()
      opts.onProgress?.({ type: 'runtime:network:create', detail: { name: networkName(lease.leaseId) } })
      const net = await call('network.create', async () => await docker.createNetwork(networkSpec(lease, instance)))
      if (firewall != null) {
        const info = await call('network.inspect', async () => await docker.getNetwork(net.id).inspect() as { Id: string, Options?: Record<string, string> })
        opts.onProgress?.({ type: 'runtime:firewall:install', detail: { bridge: bridgeOf(info) } })
        await firewall.install(lease.leaseId, bridgeOf(info))
      }
      const specNotices = await startReplicas(specs, created, opts)
      noticesByLease.set(lease.leaseId, dedupeNotices([...notices, ...specNotices]))
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
    const facts = await engine()
    const labels = old[0].Labels
    const lease: LeaseRef = { leaseId, tenant: labels[LABEL_TENANT] ?? '', provider: labels[LABEL_PROVIDER] ?? '' }
    const generation = Math.max(...old.map((c) => Number(c.Labels[LABEL_GENERATION] ?? 0))) + 1
    const notices = deployNotices(manifest, planned, { firewall: firewall != null })
    const oldVolumes = new Map(((await call('volume.list', async () => await docker.listVolumes({ filters: byLease(leaseId) }))).Volumes ?? []).map((v) => [v.Name, v.Labels?.[LABEL_SIZE] != null]))
    let specs: ContainerSpec[]
    try {
      specs = planSpecs(lease, planned, generation, notices, facts)
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
      noticesByLease.set(leaseId, dedupeNotices([...notices, ...specNotices]))
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

  async function status (leaseId: string): Promise<DeployedLease> {
    checkLeaseId(leaseId)
    const list = await leaseContainers(leaseId)
    if (list.length === 0) {
      const networks = await call('network.list', async () => await docker.listNetworks({ filters: byLease(leaseId) }))
      if (networks.length === 0) throw new LeaseNotFoundError(leaseId)
    }
    const infos: ContainerInspectInfo[] = []
    for (const c of list) {
      try {
        infos.push(await call('container.inspect', async () => await docker.getContainer(c.Id).inspect()))
      } catch (err) {
        if (!isStatus(err, 404)) throw err
      }
    }
    return leaseStatus(leaseId, infos, publicHost, noticesByLease.get(leaseId))
  }

  async function close (leaseId: string): Promise<void> {
    checkLeaseId(leaseId)
    await removeLease(leaseId)
  }

  /** lease IDs of every object this instance owns, from containers, networks and volumes */
  /** lease IDs of every object this instance owns, from containers, networks and volumes */
  async function ownedLeases (): Promise<{ leases: Map<string, LeaseSummary>, containers: ContainerInfo[] }> {
    const filter = { label: [LABEL_LEASE, `${LABEL_INSTANCE}=${instance}`] }
    const containers = await call('container.list', async () => await docker.listContainers({ all: true, filters: filter }))
    const networks = await call('network.list', async () => await docker.listNetworks({ filters: filter }))
    const volumes = (await call('volume.list', async () => await docker.listVolumes({ filters: filter }))).Volumes ?? []
    return { leases: ownedLeaseSummaries(containers, networks, volumes), containers }
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
      for (const n of await call('network.list', async () => await docker.listNetworks({ filters: byLease(leaseId) }))) await firewall.install(leaseId, bridgeOf(n))
    }
    if (store != null) {
      const volumes = (await call('volume.list', async () => await docker.listVolumes({ filters: byLease(leaseId) }))).Volumes ?? []
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
    const ephemeral: StorageEnforcement = f?.storageOpt === true ? 'quota' : 'none'
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

  return {
    name: 'docker',
    docker,
    deploy,
    update,
    status,
    logs: (leaseId, opts) => dockerLogs(access, leaseId, opts),
    events: (leaseId, opts) => dockerEvents(access, leaseId, opts),
    exec: async (leaseId, opts) => await dockerExec(access, leaseId, opts),
    close,
    list,
    reconcile,
    sandbox
  }
}
