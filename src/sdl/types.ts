// The shapes a loaded SDL file turns into. `Manifest` is what travels tenant → provider and
// what the order's manifest hash covers; `ResourceGroup` is what an order asks the market for.

/** Akash storage class names are free-form; `default` is ephemeral container storage. */
export interface StorageSpec {
  /** volume name as written in the profile (`default` when unnamed) */
  name: string
  /** bytes */
  size: number
  persistent: boolean
  /** e.g. `beta2`, `ram`; undefined for ephemeral storage */
  class?: string
}

export interface GpuSpec {
  units: number
  /** every acceptable model; an entry without `model` means any model of its `vendor`; empty when `units` is 0 */
  models: Array<{ vendor: string, model?: string, ram?: number, interface?: string }>
}

export interface ComputeResources {
  /** millicpu */
  cpu: number
  /** bytes */
  memory: number
  storage: StorageSpec[]
  gpu: GpuSpec
}

export interface HttpOptions {
  maxBodySize?: number
  readTimeout?: number
  sendTimeout?: number
  nextTries?: number
  nextTimeout?: number
  nextCases?: string[]
}

export interface ExposeTo {
  /** another service name, for in-deployment access */
  service?: string
  global: boolean
  /** name of an `ip` endpoint; providers that cannot honour it say so */
  ip?: string
}

export interface Expose {
  port: number
  /** external port; defaults to `port` */
  as: number
  proto: 'tcp' | 'udp'
  to: ExposeTo[]
  accept: string[]
  httpOptions?: HttpOptions
}

export interface ServiceVolumeParams {
  /** storage volume name → where and how it is mounted */
  [volume: string]: { mount: string, readOnly: boolean }
}

export interface ServiceCredentials {
  host: string
  email?: string
  username: string
  password: string
}

/** One service of the deployment, joined with its compute profile and replica count. */
export interface ServiceManifest {
  name: string
  image: string
  command?: string[]
  args?: string[]
  /** KEY=VALUE pairs, in the order written */
  env: string[]
  expose: Expose[]
  /** from `params.storage` */
  storage: ServiceVolumeParams
  credentials?: ServiceCredentials
  /** services this one depends on (`dependencies`), in the order written; absent when none */
  dependencies?: string[]
  /** the compute profile's name and resources, per replica */
  profile: string
  resources: ComputeResources
  count: number
}

/** Everything needed to run one placement group. */
export interface GroupManifest {
  /** the placement name */
  name: string
  services: ServiceManifest[]
}

export interface Manifest {
  /** SDL version as written (`2.0` or `2.1`) */
  version: string
  groups: GroupManifest[]
  /** `endpoints` section, name → kind */
  endpoints: Record<string, { kind: 'ip' }>
}

/** A price as written in the SDL: souk records prices, it does not move money. */
export interface Price {
  denom: string
  /** decimal string, exactly as given (e.g. "10000", "0.5") */
  amount: string
}

/** What one placement group asks the market for. */
export interface ResourceGroup {
  /** placement name */
  name: string
  /** required provider attributes */
  attributes: Record<string, string>
  /** auditors whose signed attributes the provider must hold */
  signedBy: { allOf: string[], anyOf: string[] }
  /** one entry per (service, profile); units = replica count */
  resources: Array<{ service: string, resources: ComputeResources, count: number, price: Price }>
  /** per-group price ceiling: sum of per-service prices × count, per denom */
  maxPrice: Price
}

export interface ResourceTotals {
  /** millicpu */
  cpu: number
  /** bytes */
  memory: number
  /** bytes by class; ephemeral storage under `ephemeral` */
  storage: Record<string, number>
  /** GPU units by `vendor/model` (model `*` when any) */
  gpu: Record<string, number>
  /** replicas over all services */
  count: number
}

/** A warning for something the file asks for that some runtimes cannot honour. */
export interface SdlNotice {
  path: string
  message: string
}

export interface LoadedSdl {
  manifest: Manifest
  groups: ResourceGroup[]
  totals: ResourceTotals
  notices: SdlNotice[]
  /** hex sha256 of the canonical manifest encoding */
  manifestHash: string
}
