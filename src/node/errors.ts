// Errors of the node layer. Every code is a member of a union, so a caller's `switch (err.code)`
// is checked by the compiler.
import type { ExplainAnswer } from '../net/index.ts'

export const DeployErrorCode = {
  NO_LEASE: 'ERR_NO_LEASE',
  PROVIDER_UNREACHABLE: 'ERR_PROVIDER_UNREACHABLE',
  MANIFEST_REFUSED: 'ERR_MANIFEST_REFUSED',
  DEPLOY_FAILED: 'ERR_DEPLOY_FAILED',
  TIMEOUT: 'ERR_DEPLOY_TIMEOUT',
  UNKNOWN_DEPLOYMENT: 'ERR_UNKNOWN_DEPLOYMENT',
  /** the provider answered a lease request (status, logs, events, close) with an error; `providerCode` holds its code */
  PROVIDER_REFUSED: 'ERR_PROVIDER_REFUSED',
  /** no peer listened for orders in time: nothing was published */
  NO_PEERS: 'ERR_NO_PEERS'
} as const
export type DeployErrorCode = typeof DeployErrorCode[keyof typeof DeployErrorCode]

const DEPLOY_CODES: ReadonlySet<string> = new Set(Object.values(DeployErrorCode))

export function isDeployErrorCode (code: string): code is DeployErrorCode {
  return DEPLOY_CODES.has(code)
}

/** What a DeployError carries beyond its message: for ERR_NO_LEASE, the providers' own reasons for not bidding. */
export interface DeployErrorDetail {
  declines?: ExplainAnswer[]
}

/** A deployment that did not reach running, or a lease request the provider refused, with the reason a person can act on. */
export class DeployError extends Error {
  readonly code: DeployErrorCode
  /** the provider's own code when it refused a lease request (`not-authorized`, `unknown-lease`, …) */
  readonly providerCode?: string
  readonly detail?: DeployErrorDetail
  /**
   * `code` is one of DeployErrorCode; any other string is a provider's answer to a lease request,
   * kept as `providerCode` under ERR_PROVIDER_REFUSED (a remote peer chooses it, so it is not a member of the union).
   */
  constructor (code: DeployErrorCode | (string & {}), message: string, detail?: DeployErrorDetail) {
    super(message)
    this.name = 'DeployError'
    if (isDeployErrorCode(code)) {
      this.code = code
    } else {
      this.code = DeployErrorCode.PROVIDER_REFUSED
      this.providerCode = code
    }
    this.detail = detail
  }
}

export const NodeErrorCode = {
  /** the node home has no committee file */
  NO_COMMITTEE_FILE: 'ERR_NO_COMMITTEE_FILE',
  /** another live node (this process or another) holds the home */
  HOME_IN_USE: 'ERR_HOME_IN_USE',
  /** `node.ready()` gave up: what the node still lacks is in the message and in `missing` */
  NOT_READY: 'ERR_NOT_READY',
  /** the Node.js running souk is older than the one it needs */
  NODE_VERSION: 'ERR_NODE_VERSION',
  /** the node was stopped */
  STOPPED: 'ERR_NODE_STOPPED',
  UNKNOWN_LEASE: 'ERR_UNKNOWN_LEASE',
  NOT_LEASE_PROVIDER: 'ERR_NOT_LEASE_PROVIDER',
  DEVNET_RUNNING: 'ERR_DEVNET_RUNNING',
  DEVNET_NODE_DIED: 'ERR_DEVNET_NODE_DIED',
  DEVNET_TIMEOUT: 'ERR_DEVNET_TIMEOUT',
  /** the devnet could not set up or use a node's network namespace */
  DEVNET_NETNS: 'ERR_DEVNET_NETNS',
  /** no devnet node has that name */
  DEVNET_NO_NODE: 'ERR_DEVNET_NO_NODE',
  /** the devnet's WAN emulation settings are wrong (profile, seed) */
  DEVNET_WAN: 'ERR_DEVNET_WAN',
  NO_DEVNET: 'ERR_NO_DEVNET',
  NO_DOCKER: 'ERR_NO_DOCKER',
  NO_BUSYBOX: 'ERR_NO_BUSYBOX',
  /** the souk command line cannot be found next to the module (a broken install) */
  NO_CLI: 'ERR_NO_CLI',
  /** a backup could not be written; the message says what and where */
  BACKUP_FAILED: 'ERR_BACKUP_FAILED',
  /** a running validator's store is not backed up: stop it first */
  BACKUP_LIVE_VALIDATOR: 'ERR_BACKUP_LIVE_VALIDATOR',
  /** a provider named neither by a peer ID nor by a key */
  BAD_PEER: 'ERR_BAD_PEER',
  /** fewer than f + 1 validators gave the same record */
  NO_RECORD_QUORUM: 'ERR_NO_RECORD_QUORUM'
} as const
export type NodeErrorCode = typeof NodeErrorCode[keyof typeof NodeErrorCode]

export class NodeError extends Error {
  readonly code: NodeErrorCode
  /** for ERR_NOT_READY: what the node still lacks, one entry a need */
  readonly missing?: string[]
  constructor (code: NodeErrorCode, message: string, opts: { missing?: string[] } = {}) {
    super(message)
    this.name = 'NodeError'
    this.code = code
    if (opts.missing != null) this.missing = opts.missing
  }
}

/**
 * ERR_HOME_IN_USE: another node holds the home (its lock file names it). `pid` is the holder's
 * process, `host` its machine when that is not this one.
 */
export class HomeInUseError extends NodeError {
  readonly home: string
  readonly pid: number
  readonly host?: string
  constructor (home: string, pid: number, message: string, host?: string) {
    super(NodeErrorCode.HOME_IN_USE, message)
    this.name = 'HomeInUseError'
    this.home = home
    this.pid = pid
    if (host != null) this.host = host
  }
}
