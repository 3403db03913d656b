// The tenant role as a service: `tenantRole(init)(components)`, started and stopped by the node
// (create-node.ts). One call from a deployment file to running services: it publishes the order,
// follows bids, waits for the committee's certified lease (or its expiry), hands the manifest to
// the winning provider over a direct stream, and watches the services come up. `init` is the
// tenant's own settings (souk.yaml `tenant`); components are what it runs on.
import type { CloseCode, Price, WireAccept } from '../../wire/index.ts'
import type { SoukNode, LeaseLogLine, LeaseEvent } from '../../net/index.ts'
import type { LoadedSdl } from '../../sdl/index.ts'
import type { Identity } from '../../identity/index.ts'
import type { SoukConfig } from '../../config/index.ts'
import type { Store } from '../../store/index.ts'
import type { ExecHandle } from '../../runtime/index.ts'
import type { LeaseBook } from '../lease-book.ts'
import type { Logger } from '../logger.ts'
import type { FailoverSettings, FailoverStep, FailoverProgressEvent } from '../failover.ts'
import { createTenantRole } from './tenant.ts'


/**
 * ordering → leased → deploying → running → closing → closed; `failed` and `expired` end a
 * deployment that never ran. Every state but the last three is picked up again when the node
 * starts (see resume in tenantRole), so a restart never leaves a deployment half-way.
 */
export type DeploymentState = 'ordering' | 'leased' | 'deploying' | 'running' | 'failed' | 'expired' | 'closing' | 'closed'

export interface ServiceView { name: string, ready: number, count: number, urls: string[] }

export interface Deployment {
  order: string
  state: DeploymentState
  createdAt: number
  bidDeadline: number
  totals: string
  /** winning provider peer ID */
  provider?: string
  prices?: Price[]
  bids?: number
  services?: ServiceView[]
  reason?: string
  /** sequence of the manifest running (0 first, then each update) */
  sequence?: number
  /** countersigned usage statements */
  usage?: UsageLine[]
  /** when this node sent the lease's first manifest: billing cannot start before (give or take clock skew) */
  startedAt?: number
  /** when the lease closed, as this node learned it: billing cannot go past it */
  closedAt?: number
  /** when the provider last answered this node about the lease (status, logs, events, usage), ms */
  providerSeenAt?: number
  /**
   * a Close this node signed and has not finished sending (gossip and the direct request): saved
   * before it is sent, so a node killed in between sends it again when it starts
   */
  close?: Uint8Array
  /** the signed order envelope and the canonical manifest, for resends and updates */
  orderBytes: Uint8Array
  manifest: Uint8Array
  /** the code of the Close this node sent for a lease that failed (`provider-failed`) */
  closeCode?: CloseCode
  /** failover settings, when this deployment fails over (failover.ts) */
  failover?: FailoverSettings
  /** the deployment file, kept so a failover can order it again */
  source?: string | LoadedSdl
  /** the first order of a chain of failovers, the one this replaced, the one that replaced it */
  origin?: string
  replaces?: string
  replacedBy?: string
  /** failovers along the chain up to this lease, and the providers it left (peer IDs) */
  failovers?: number
  excluded?: string[]
  /** what happened across providers (failovers), oldest first */
  history?: FailoverStep[]
  /** a failover begun and not finished (saved first, so a restart finishes it) */
  failingOver?: { code: CloseCode, reason: string, at: number }
}

export type DeployProgressEvent =
  | { type: 'deploy:validated', detail: { totals: string, groups: number, notices: number, noticeList: Array<{ path: string, message: string }> } }
  | { type: 'deploy:queued', detail: { open: number, max: number, queued: number } }
  | { type: 'deploy:order-published', detail: { order: string, bidDeadline: number } }
  | { type: 'deploy:bid', detail: { bids: number, provider: string, prices: Price[] } }
  | { type: 'deploy:lease-final', detail: { provider: string, prices: Price[], height: number, bids: number } }
  | { type: 'deploy:manifest-accepted', detail: { provider: string } }
  | { type: 'deploy:services-running', detail: { services: ServiceView[] } }
  | { type: 'deploy:kept', detail: { order: string, provider: string, state: DeploymentState } }
  | { type: 'deploy:closing', detail: { order: string, provider: string, reason: string } }

export interface DeployOptions {
  signal?: AbortSignal
  onProgress?: (evt: DeployProgressEvent) => void
  bidWindowMs?: number
  /** after the manifest is accepted, how long to wait for every service to run */
  runTimeoutMs?: number
  /**
   * What an abort does once the lease is final: `close` (the default) closes the lease, so nothing
   * is left running or billed; `keep` lets the deployment go on without the caller (souk lease list
   * follows it) and says so with a `deploy:kept` event. Before the lease is final, an abort always
   * leaves nothing behind: no order is published, or a lease that still comes is closed.
   */
  onAbort?: 'close' | 'keep'
  /** which providers the order accepts (default: tenant.accept in souk.yaml) */
  accept?: WireAccept
  /** fail over when the provider is lost or fails (default: tenant.failover.enabled); persistent data does not move */
  failover?: boolean | Partial<FailoverSettings>
  /** the failover's steps during this deploy (the new order's own steps come through onProgress) */
  onFailover?: (evt: FailoverProgressEvent) => void
  /** the provider must take the manifest within this long, or the lease failed (`provider-failed`) */
  manifestTimeoutMs?: number
}

export type UpdateProgressEvent =
  | { type: 'update:validated', detail: { order: string, sequence: number, totals: string } }
  | { type: 'update:manifest-accepted', detail: { order: string, sequence: number, provider: string } }
  | { type: 'update:rolled-out', detail: { order: string, sequence: number, services: ServiceView[] } }

export interface UpdateOptions {
  signal?: AbortSignal
  onProgress?: (evt: UpdateProgressEvent) => void
  /** after the provider accepts the manifest, how long to wait for the rollout */
  runTimeoutMs?: number
}

export type CloseProgressEvent =
  | { type: 'close:signed', detail: { order: string, closedAt: number } }
  | { type: 'close:sent', detail: { order: string, provider?: string } }

export interface CloseOptions {
  onProgress?: (evt: CloseProgressEvent) => void
}

/** one provider's answer to a dry run: what it would bid, every reason it would not, or why it could not be asked */
export interface DryRunAnswer {
  provider: string
  outcome: 'bid' | 'declined' | 'no-answer'
  prices?: Price[]
  reasons: Array<{ code: string, message: string }>
}

export interface DryRunResult {
  totals: string
  notices: Array<{ path: string, message: string }>
  /** every provider this node found, bidders first */
  answers: DryRunAnswer[]
}

export interface TenantRole {
  deploy: (sdl: string | LoadedSdl, opts?: DeployOptions) => Promise<Deployment>
  /** asks every provider it can find what it would bid on this file, or why not; publishes no order */
  dryRun: (sdl: string | LoadedSdl, opts?: { signal?: AbortSignal, bidWindowMs?: number }) => Promise<DryRunResult>
  list: () => Deployment[]
  get: (order: string) => Deployment | undefined
  status: (order: string, opts?: { signal?: AbortSignal }) => Promise<unknown>
  logs: (order: string, opts?: { follow?: boolean, tail?: number, service?: string, signal?: AbortSignal }) => AsyncGenerator<LeaseLogLine>
  events: (order: string, opts?: { follow?: boolean, signal?: AbortSignal }) => AsyncGenerator<LeaseEvent>
  /** ends the lease: a signed Close, saved before it is sent (gossiped and sent to the provider) */
  close: (order: string, reason?: string, opts?: CloseOptions) => Promise<Deployment>
  /** rolls out a new manifest (same resources or fewer) on the running lease; a failed rollout keeps the old one */
  update: (order: string, sdl: string | LoadedSdl, opts?: UpdateOptions) => Promise<Deployment>
  /** a command in one of the lease's containers (an interactive shell with tty) */
  exec: (order: string, opts: { service?: string, command: string[], tty?: boolean, signal?: AbortSignal }) => Promise<ExecHandle>
  /** usage statements the provider sent and this node countersigned */
  usage: (order: string) => UsageLine[]
  /** failovers as they happen, in the background as well as during deploy() */
  onFailover: (fn: (e: FailoverProgressEvent) => void) => () => void
  start: () => Promise<void>
  stop: () => Promise<void>
}

export interface UsageLine { sequence: number, periodStart: number, periodEnd: number, amount: Price, total: Price, statement: string, ack: string }

/** the tenant's settings (souk.yaml `tenant`) */
export type TenantRoleInit = SoukConfig['tenant']

export interface TenantRoleComponents {
  identity: Identity
  net: SoukNode
  book: LeaseBook
  store: Store
  logger: Logger
}

export function tenantRole (init: TenantRoleInit): (components: TenantRoleComponents) => TenantRole {
  return (components) => createTenantRole(init, components)
}

export { mapAkashAuditors } from './akash.ts'
export { TENANT_RECORD } from './constants.ts'
