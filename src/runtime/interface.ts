// The contract between the provider and whatever runs the containers. A runtime keeps no state
// that matters across restarts: everything it needs is in the labels of the objects it created,
// so `list()` and `reconcile()` can rebuild the picture after a provider restart.
import type { Manifest } from '../sdl/types.ts'

export interface LeaseRef {
  /** lowercase hex */
  leaseId: string
  /** tenant peer ID */
  tenant: string
  /** provider peer ID */
  provider: string
}

export interface ProgressEvent {
  type: string
  detail?: unknown
}

export interface DeployOptions {
  signal?: AbortSignal
  /** `runtime:image:pull`, `runtime:network:create`, `runtime:replica:create`, `runtime:replica:start`, … */
  onProgress?: (evt: ProgressEvent) => void
}

export type ReplicaState = 'pending' | 'running' | 'restarting' | 'exited' | 'failed' | 'unknown'

export interface ServiceUrl {
  /** container port */
  port: number
  /** port as written in `as` */
  as: number
  proto: 'tcp' | 'udp'
  /** `http://host:port` for HTTP-ish TCP ports, else `tcp://host:port` / `udp://host:port` */
  url: string
  host: string
  hostPort: number
}

export interface ReplicaStatus {
  /** container or pod name */
  name: string
  /** 0-based replica index, -1 when unknown (Kubernetes Deployment pods) */
  index: number
  state: ReplicaState
  restarts: number
  exitCode?: number
  /** engine's own words when not running (`OOMKilled`, `ImagePullBackOff`, …) */
  message?: string
  startedAt?: string
  urls: ServiceUrl[]
}

export interface ServiceStatus {
  name: string
  /** placement group */
  group: string
  image: string
  /** replicas asked for */
  count: number
  /** replicas running */
  ready: number
  replicas: ReplicaStatus[]
  /** every replica's URLs, plus the service-level ones (Kubernetes NodePort/LoadBalancer) */
  urls: ServiceUrl[]
}

/** Something the manifest asks for that this runtime cannot honour, or honours differently. */
export interface RuntimeNotice {
  /** manifest path like `groups[0].services[1].expose[0].to[1].ip` or `services.web.expose[0]` */
  path: string
  code: string
  message: string
}

export interface DeployedLease {
  leaseId: string
  tenant: string
  provider: string
  runtime: 'docker' | 'kubernetes'
  services: ServiceStatus[]
  notices: RuntimeNotice[]
}

export interface LogLine {
  service: string
  /** container or pod name */
  replica: string
  stream: 'stdout' | 'stderr'
  line: string
}

export interface LogOptions {
  service?: string
  /** lines per replica from the end */
  tail?: number
  follow?: boolean
  signal?: AbortSignal
}

export interface RuntimeEvent {
  /** engine action: `start`, `die`, `oom`, `restart`, `kill`, `create`, `destroy`, or a Kubernetes event reason */
  type: string
  leaseId: string
  service?: string
  replica?: string
  /** ms since epoch */
  time: number
  message?: string
}

export interface ExecOptions {
  service: string
  /** replica index; the first running replica when omitted */
  replica?: number
  command: string[]
  tty?: boolean
  signal?: AbortSignal
}

export interface ExecOutput {
  stream: 'stdout' | 'stderr'
  data: Uint8Array
}

export interface ExecHandle {
  stdin: {
    write: (data: Uint8Array | string) => void
    end: () => void
  }
  output: AsyncIterable<ExecOutput>
  exitCode: Promise<number>
}

export interface LeaseSummary {
  leaseId: string
  tenant?: string
  provider?: string
  services: Array<{ name: string, replicas: number, running: number }>
}

export interface ReconcileResult {
  /** leases whose objects were kept */
  adopted: string[]
  /** leases whose objects were removed */
  removed: string[]
}

/** How far the runtime can hold a size: by the kernel (`quota`, `loop`, `tmpfs`), by eviction after the fact (`eviction`), or not at all. */
export type StorageEnforcement = 'quota' | 'loop' | 'tmpfs' | 'eviction' | 'none'

/** What a tenant's containers get here: the sandbox as the runtime applies it (docs/security.md). */
export interface SandboxReport {
  runtime: 'docker' | 'kubernetes'
  /** the OCI runtime containers run under: `runc`, `runsc` (gVisor), or `cluster` when the cluster decides */
  ociRuntime: string
  /** whether root in a container is an unprivileged user on the host */
  userNamespaces: boolean
  network: {
    /** `iptables`: souk's lease firewall; `networkpolicy`: the cluster's CNI must enforce it; `none`: not isolated */
    isolation: 'iptables' | 'networkpolicy' | 'none'
    /** ranges leases may reach although private */
    allowed: string[]
    /** ranges leases cannot reach */
    blocked: string[]
  }
  /** per kind of volume: how its size is held */
  storage: { ephemeral: StorageEnforcement, persistent: StorageEnforcement, ram: StorageEnforcement }
  /** what is missing or weaker than it could be, in words for the operator */
  notes: string[]
}

export interface ContainerRuntime {
  readonly name: 'docker' | 'kubernetes'
  /** run a lease's manifest; on a permanent failure everything it created is removed */
  deploy: (lease: LeaseRef, manifest: Manifest, opts?: DeployOptions) => Promise<DeployedLease>
  /** roll out a new manifest; on failure the old one keeps running and an UpdateFailedError is thrown */
  update: (leaseId: string, manifest: Manifest, opts?: DeployOptions) => Promise<DeployedLease>
  status: (leaseId: string) => Promise<DeployedLease>
  logs: (leaseId: string, opts?: LogOptions) => AsyncIterable<LogLine>
  /** runs until the signal aborts */
  events: (leaseId: string, opts?: { signal?: AbortSignal }) => AsyncIterable<RuntimeEvent>
  exec: (leaseId: string, opts: ExecOptions) => Promise<ExecHandle>
  /** remove every object of the lease; idempotent */
  close: (leaseId: string, opts?: { signal?: AbortSignal }) => Promise<void>
  list: () => Promise<LeaseSummary[]>
  /** keep the objects of active leases, remove the rest; a transient error removes nothing */
  reconcile: (activeLeaseIds: Set<string>) => Promise<ReconcileResult>
  /** the sandbox leases get here, as configured and as this host allows */
  sandbox: () => Promise<SandboxReport>
}
