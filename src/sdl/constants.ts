// Limits and defaults for deployment files. Limits bound what a hostile file can cost (time,
// memory, stack); they sit far above anything a real deployment needs (the largest of 257
// published files is 21 KB with about 550 values).

export const SDL_VERSIONS = ['2.0', '2.1'] as const

export interface SdlLimits {
  /** bytes of YAML text */
  maxBytes: number
  /** alias references (`*name`) in the file */
  maxAliases: number
  /** values materialised after aliases are expanded (maps, lists and scalars) */
  maxNodes: number
  /** nesting of maps and lists */
  maxDepth: number
  /** characters in one string (keys and values) */
  maxStringLength: number
  /** characters in a name (service, profile, placement, volume, endpoint) */
  maxNameLength: number
  maxServices: number
  maxComputeProfiles: number
  maxPlacements: number
  /** entries of one service's `env` */
  maxEnv: number
  /** entries of one service's `command` or `args` */
  maxArgs: number
  /** entries of one service's `expose` */
  maxExpose: number
  /** volumes of one compute profile */
  maxVolumes: number
  /** placement attributes, `signedBy` entries, `accept` hosts, `to` entries, GPU models, endpoints, dependencies */
  maxListEntries: number
  /** replicas of one service in one placement */
  maxCount: number
}

export const DEFAULT_LIMITS: Readonly<SdlLimits> = Object.freeze({
  maxBytes: 1024 * 1024,
  maxAliases: 100,
  maxNodes: 20_000,
  maxDepth: 32,
  maxStringLength: 128 * 1024,
  maxNameLength: 128,
  maxServices: 100,
  maxComputeProfiles: 100,
  maxPlacements: 100,
  maxEnv: 1000,
  maxArgs: 1000,
  maxExpose: 100,
  maxVolumes: 32,
  maxListEntries: 256,
  maxCount: 1000
})

/** millicpu in one cpu */
export const MILLICPU = 1000
/** the largest cpu request accepted, in millicpu (Akash's cpu quantity is a uint32) */
export const MAX_MILLICPU = 0xffffffff
/** the largest byte size accepted: sizes must stay exact in a JavaScript number */
export const MAX_BYTES = Number.MAX_SAFE_INTEGER
export const MAX_GPU_UNITS = 1024

/** Akash's defaults and upper limits for `http_options`; souk keeps what is written and reports values above these */
export const HTTP_OPTION_LIMITS = Object.freeze({
  maxBodySize: 104_857_600,
  readTimeout: 60_000,
  sendTimeout: 60_000
})
export const HTTP_OPTION_DEFAULTS = Object.freeze({
  maxBodySize: 1_048_576,
  readTimeout: 60_000,
  sendTimeout: 60_000,
  nextTries: 3,
  nextTimeout: 0,
  nextCases: ['error', 'timeout']
})
export const NEXT_CASES = ['error', 'timeout', '500', '502', '503', '504', '403', '404', '429', 'off'] as const

/** storage classes Akash providers know; others are kept and reported */
export const KNOWN_STORAGE_CLASSES = ['default', 'beta1', 'beta2', 'beta3', 'ram'] as const
/**
 * `params.tee` (confidential computing): the capability form (`cpu`, `cpu-gpu`) and the platform
 * form (`type: sev-snp`, …) Akash's drafts use. The value becomes the placement attribute
 * TEE_ATTRIBUTE, so only a provider that advertises exactly that value bids.
 */
export const TEE_KINDS = ['cpu', 'cpu-gpu'] as const
export const TEE_TYPES = ['sev-snp', 'sev-snp-gpu', 'tdx', 'tdx-gpu'] as const
export const TEE_ATTRIBUTE = 'tee'
export const KNOWN_GPU_VENDORS = ['nvidia', 'amd'] as const
export const GPU_INTERFACES = ['pcie', 'sxm'] as const

/** a service name becomes a host name, a container name and a Kubernetes object name */
export const SERVICE_NAME_PATTERN = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/
/** Akash's rule for `endpoints` names */
export const ENDPOINT_NAME_PATTERN = /^[a-z]+[a-z0-9_-]+$/
/** Cosmos SDK denominations, as Akash accepts them */
export const DENOM_PATTERN = /^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$/
/** a price amount: a plain decimal, at most 18 digits after the point */
export const AMOUNT_PATTERN = /^[0-9]{1,30}(\.[0-9]{1,18})?$/
