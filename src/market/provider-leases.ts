// The provider's side of a lease after the committee made it final: wait for the manifest (and
// close the lease if it never comes), check it against the order, run it, meter it, roll out
// signed updates, and close it. The runtime is injected: Docker, Kubernetes, or anything else.
import { sha256, toHex } from '../wire/index.ts'
import type { SignedMessage, OrderBody, BidBody, ManifestFrame, ManifestUpdateBody, Signer } from '../wire/index.ts'
import { peerIdOfPublicKey } from '../identity/index.ts'
import type { ContainerRuntime, DeployedLease, ProgressEvent } from '../runtime/interface.ts'
import type { Manifest } from '../sdl/types.ts'
import { canonicalManifestBytes } from '../sdl/canonical.ts'
import { checkManifest, readManifest, ManifestRefusal } from '../net/manifest.ts'
import { systemClock } from './clock.ts'
import type { Clock, Timer } from './clock.ts'

/** why a manifest or update was refused: the manifest protocol's codes (protocols/manifest.md §4) */
export const LeaseRefusal = {
  UNKNOWN_LEASE: ManifestRefusal.UNKNOWN_LEASE,
  NOT_TENANT: ManifestRefusal.NOT_TENANT,
  HASH_MISMATCH: ManifestRefusal.HASH_MISMATCH,
  BAD_MANIFEST: ManifestRefusal.INVALID_MANIFEST,
  EXCEEDS_ORDER: ManifestRefusal.EXCEEDS_ORDER,
  LEASE_CLOSED: ManifestRefusal.LEASE_CLOSED,
  OUT_OF_SEQUENCE: ManifestRefusal.OUT_OF_SEQUENCE,
  DEPLOY_FAILED: ManifestRefusal.DEPLOY_FAILED
} as const
export type LeaseRefusal = typeof LeaseRefusal[keyof typeof LeaseRefusal]

export class LeaseRefusedError extends Error {
  readonly code: LeaseRefusal
  /** the manifest field the refusal is about (`groups[0].services[1].resources.memory`), when there is one */
  readonly path?: string
  constructor (code: LeaseRefusal, message: string, path?: string) {
    super(path != null ? `${path}: ${message}` : message)
    this.name = 'LeaseRefusedError'
    this.code = code
    if (path != null) this.path = path
  }
}

export type LeaseState = 'awaiting-manifest' | 'deploying' | 'running' | 'closed'

export interface ProviderLease {
  leaseId: string
  order: SignedMessage<OrderBody>
  bid: SignedMessage<BidBody>
  tenantPeerId: string
  state: LeaseState
  /** sequence of the manifest now running; -1 before the first */
  sequence: number
  deployed?: DeployedLease
  /** the manifest now running (after a restart: unknown until the next update) */
  manifest?: Manifest
  closeReason?: string
  /** why the last deployment failed */
  error?: string
  /** the last update tried: its sequence, and why it failed (the previous manifest kept running) */
  lastUpdate?: { sequence: number, error?: string }
  wonAt: number
}

export interface ProviderLeasesInit {
  /** a lease whose manifest has not arrived by then is closed */
  manifestTimeoutMs: number
}

export interface ProviderLeasesComponents {
  signer: Signer
  runtime: ContainerRuntime
  clock?: Clock
  /** tells the network and the tenant (a signed Close); called once per lease */
  announceClose?: (leaseId: string, reason: string) => Promise<void>
  /** frees what the bid engine reserved */
  releaseReservation?: (orderId: string) => void
  onEvent?: (evt: ProgressEvent & { leaseId: string }) => void
}

export interface ProviderLeases {
  /** the committee made this lease final with this provider */
  leaseWon: (order: SignedMessage<OrderBody>, bid: SignedMessage<BidBody>) => ProviderLease
  /** after a restart: a lease this provider held, in the state it was in (no watchdog for running ones) */
  restore: (order: SignedMessage<OrderBody>, bid: SignedMessage<BidBody>, state: LeaseState, sequence: number) => ProviderLease
  /** the tenant signed an update; the frame with the same sequence follows */
  acceptUpdate: (remotePeer: string, update: SignedMessage<ManifestUpdateBody>) => void
  /** a manifest frame arrived from `remotePeer` (the peer noise authenticated) */
  handleManifest: (remotePeer: string, frame: ManifestFrame, opts?: { signal?: AbortSignal }) => Promise<DeployedLease>
  /** checks the manifest now (throws LeaseRefusedError) and runs it in the background */
  accept: (remotePeer: string, frame: ManifestFrame, opts?: { signal?: AbortSignal }) => { done: Promise<DeployedLease> }
  close: (leaseId: string, reason: string) => Promise<void>
  get: (leaseId: string) => ProviderLease | undefined
  list: () => ProviderLease[]
  /** after a restart: keep the runtime objects of these leases, remove the rest */
  reconcile: () => Promise<{ adopted: string[], removed: string[] }>
  stop: () => void
}

/** reads the manifest bytes against the order (the manifest protocol's one check); throws LeaseRefusedError */
function readChecked (bytes: Uint8Array, order: OrderBody): Manifest {
  const r = readManifest(bytes, order)
  if (!r.ok) throw new LeaseRefusedError(r.code, r.reason, r.path)
  return r.manifest
}

/**
 * The hash binds the manifest to the order, but a tenant could sign an order for small resources
 * over a manifest that asks for more. The manifest must pass the provider's strict reading.
 */
export function checkManifestAgainstOrder (manifest: Manifest, order: OrderBody): void {
  let bytes: Uint8Array
  try {
    bytes = canonicalManifestBytes(manifest)
  } catch (err: any) {
    throw new LeaseRefusedError(LeaseRefusal.BAD_MANIFEST, String(err?.message ?? err))
  }
  readChecked(bytes, order)
}

export function providerLeases (init: ProviderLeasesInit): (components: ProviderLeasesComponents) => ProviderLeases {
  return (components) => {
    const clock = components.clock ?? systemClock()
    const leases = new Map<string, ProviderLease>()
    const watchdogs = new Map<string, Timer>()
    const updates = new Map<string, ManifestUpdateBody>()
    const emit = (leaseId: string, type: string, detail?: unknown): void => { components.onEvent?.({ leaseId, type, detail }) }

    function lookup (leaseId: string, remotePeer: string): ProviderLease {
      const lease = leases.get(leaseId)
      if (lease == null) throw new LeaseRefusedError(LeaseRefusal.UNKNOWN_LEASE, `no lease ${leaseId} with this provider`)
      if (remotePeer !== lease.tenantPeerId) throw new LeaseRefusedError(LeaseRefusal.NOT_TENANT, `peer ${remotePeer} is not the tenant of lease ${leaseId}`)
      if (lease.state === 'closed') throw new LeaseRefusedError(LeaseRefusal.LEASE_CLOSED, `lease ${leaseId} is closed (${lease.closeReason ?? 'closed'})`)
      return lease
    }

    interface Prepared { lease: ProviderLease, leaseId: string, manifest: Manifest, first: boolean, sequence: number }

    /** every check, synchronously: a refusal is thrown before anything runs */
    function prepare (remotePeer: string, frame: ManifestFrame): Prepared {
      const leaseId = toHex(frame.lease)
      const lease = lookup(leaseId, remotePeer)
      const first = frame.sequence === 0
      if (first && lease.state !== 'awaiting-manifest') throw new LeaseRefusedError(LeaseRefusal.OUT_OF_SEQUENCE, `lease ${leaseId} already has its manifest`)
      const expected = first ? lease.order.body.manifestHash : updates.get(leaseId)?.manifestHash
      if (!first && (expected == null || updates.get(leaseId)?.sequence !== frame.sequence)) {
        throw new LeaseRefusedError(LeaseRefusal.OUT_OF_SEQUENCE, `manifest sequence ${frame.sequence} has no signed update`)
      }
      const bad = checkManifest(remotePeer, frame, { tenant: lease.order.signer, manifestHash: expected! })
      if (bad != null && !bad.ok) {
        const got = toHex(sha256(frame.manifest))
        throw new LeaseRefusedError(bad.code as LeaseRefusal, bad.code === LeaseRefusal.HASH_MISMATCH
          ? `manifest hash ${got.slice(0, 16)}… differs from the ${first ? 'order\'s' : 'signed update\'s'} ${toHex(expected!).slice(0, 16)}…`
          : bad.reason)
      }
      const manifest = readChecked(frame.manifest, lease.order.body)
      if (first) {
        watchdogs.get(leaseId)?.cancel()
        watchdogs.delete(leaseId)
        lease.state = 'deploying'
        emit(leaseId, 'manifest:accepted', { sequence: 0, manifest })
      } else {
        emit(leaseId, 'manifest:update-accepted', { sequence: frame.sequence, manifest })
      }
      return { lease, leaseId, manifest, first, sequence: frame.sequence }
    }

    async function run (p: Prepared, opts: { signal?: AbortSignal }): Promise<DeployedLease> {
      const { lease, leaseId, manifest } = p
      const ref = { leaseId, tenant: lease.tenantPeerId, provider: peerIdOfPublicKey(components.signer.publicKey) }
      const onProgress = (evt: ProgressEvent): void => emit(leaseId, evt.type, evt.detail)
      if (p.first) {
        try {
          lease.deployed = await components.runtime.deploy(ref, manifest, { signal: opts.signal, onProgress })
        } catch (err: any) {
          lease.error = `deployment failed: ${String(err?.message ?? err)}`
          emit(leaseId, 'lease:deploy-failed', { error: lease.error })
          await api.close(leaseId, lease.error).catch(() => {})
          throw new LeaseRefusedError(LeaseRefusal.DEPLOY_FAILED, lease.error)
        }
        // a close that raced the deploy wins: undo what the deploy made
        if ((lease.state as LeaseState) === 'closed') {
          await components.runtime.close(leaseId).catch(() => {})
          throw new LeaseRefusedError(LeaseRefusal.LEASE_CLOSED, `lease ${leaseId} was closed while deploying`)
        }
        lease.state = 'running'
        lease.sequence = 0
        lease.manifest = manifest
        emit(leaseId, 'lease:running', lease.deployed)
        return lease.deployed
      }
      lease.lastUpdate = { sequence: p.sequence }
      try {
        lease.deployed = await components.runtime.update(leaseId, manifest, { signal: opts.signal, onProgress })
      } catch (err: any) {
        // the runtime keeps the old manifest running
        lease.lastUpdate.error = String(err?.message ?? err)
        emit(leaseId, 'lease:update-failed', { sequence: p.sequence, error: lease.lastUpdate.error })
        throw new LeaseRefusedError(LeaseRefusal.DEPLOY_FAILED, `update failed, the previous manifest keeps running: ${String(err?.message ?? err)}`)
      } finally {
        updates.delete(leaseId)
      }
      lease.sequence = p.sequence
      lease.manifest = manifest
      emit(leaseId, 'lease:updated', { sequence: p.sequence })
      return lease.deployed
    }

    const api: ProviderLeases = {
      leaseWon (order, bid) {
        const leaseId = order.idHex
        const existing = leases.get(leaseId)
        if (existing != null) return existing
        const lease: ProviderLease = { leaseId, order, bid, tenantPeerId: peerIdOfPublicKey(order.signer), state: 'awaiting-manifest', sequence: -1, wonAt: clock.now() }
        leases.set(leaseId, lease)
        watchdogs.set(leaseId, clock.schedule(init.manifestTimeoutMs, () => {
          watchdogs.delete(leaseId)
          if (lease.state === 'awaiting-manifest') {
            void api.close(leaseId, `manifest not received within ${Math.round(init.manifestTimeoutMs / 1000)} s of the lease`).catch(() => {})
          }
        }))
        emit(leaseId, 'lease:won')
        return lease
      },

      restore (order, bid, state, sequence) {
        if (state === 'awaiting-manifest') return api.leaseWon(order, bid)
        const lease: ProviderLease = { leaseId: order.idHex, order, bid, tenantPeerId: peerIdOfPublicKey(order.signer), state: state === 'deploying' ? 'running' : state, sequence, wonAt: clock.now() }
        leases.set(lease.leaseId, lease)
        return lease
      },

      acceptUpdate (remotePeer, update) {
        const leaseId = toHex(update.body.lease)
        const lease = lookup(leaseId, remotePeer)
        if (toHex(update.signer) !== toHex(lease.order.signer)) throw new LeaseRefusedError(LeaseRefusal.NOT_TENANT, 'update is not signed by the lease\'s tenant')
        if (update.body.sequence !== lease.sequence + 1) throw new LeaseRefusedError(LeaseRefusal.OUT_OF_SEQUENCE, `update sequence ${update.body.sequence}, expected ${lease.sequence + 1}`)
        updates.set(leaseId, update.body)
      },

      handleManifest: async (remotePeer, frame, opts = {}) => await run(prepare(remotePeer, frame), opts),

      accept (remotePeer, frame, opts = {}) {
        const p = prepare(remotePeer, frame)
        const done = run(p, opts)
        done.catch(() => {}) // the caller reads the outcome from `done` or from the lease's state
        return { done }
      },

      async close (leaseId, reason) {
        const lease = leases.get(leaseId)
        if (lease == null || lease.state === 'closed') return
        const wasDeployed = lease.state === 'running' || lease.state === 'deploying'
        lease.state = 'closed'
        lease.closeReason = reason
        watchdogs.get(leaseId)?.cancel()
        watchdogs.delete(leaseId)
        components.releaseReservation?.(leaseId)
        if (wasDeployed) await components.runtime.close(leaseId)
        emit(leaseId, 'lease:closed', { reason })
        await components.announceClose?.(leaseId, reason)
      },

      get: (id) => leases.get(id),
      list: () => [...leases.values()],

      async reconcile () {
        const active = new Set([...leases.values()].filter((l) => l.state !== 'closed').map((l) => l.leaseId))
        return await components.runtime.reconcile(active)
      },

      stop () {
        for (const t of watchdogs.values()) t.cancel()
        watchdogs.clear()
      }
    }
    return api
  }
}
