// The provider's side of a lease after the committee made it final: wait for the manifest (and
// close the lease if it never comes), check it against the order, run it, meter it, roll out
// signed updates, and close it. The runtime is injected: Docker, Kubernetes, or anything else.
//
// Every step that changes the runtime's objects is saved (`save`) before it starts, with what it
// needs to be done again: the manifest being deployed, the update being rolled out, the close
// under way. A provider killed in the middle of one finishes it when it starts again
// (`restore`, then `reconcile`), so no lease is left running without its containers, with two
// generations of them, or half closed.
import { sha256, toHex } from '../wire/index.ts'
import type { SignedMessage, OrderBody, BidBody, ManifestFrame, ManifestUpdateBody, Signer } from '../wire/index.ts'
import { peerIdOfPublicKey } from '../identity/index.ts'
import type { ContainerRuntime, DeployedLease, ProgressEvent } from '../runtime/interface.ts'
import type { Manifest } from '../sdl/types.ts'
import { canonicalManifestBytes } from '../sdl/canonical.ts'
import { checkManifest, ManifestRefusal } from '../net/protocols/manifest.ts'
import { readManifest } from '../net/protocols/manifest-reading.ts'
import { sameBytes } from '../net/authority.ts'
import { systemClock } from './clock.ts'
import { MarketError, MarketErrorCode } from './errors.ts'
import type { Clock, Timer } from './clock.ts'
import { errorField, errorMessage } from '../util/index.ts'

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

/** `closing`: the close is decided and saved; the runtime's objects are being removed */
export type LeaseState = 'awaiting-manifest' | 'deploying' | 'running' | 'closing' | 'closed'

/** What a restart needs to pick a lease up where it was: kept in the provider's store. */
export interface SavedProviderLease {
  lease: string
  /** the order and the winning bid, as signed */
  order: Uint8Array
  bid: Uint8Array
  state: LeaseState
  sequence: number
  closeReason?: string
  /** the manifest running (or, while deploying, the one being deployed), as its canonical bytes */
  manifest?: Uint8Array
  /** an update under way: its sequence and manifest */
  rollout?: { sequence: number, manifest: Uint8Array }
}

export interface ProviderLease {
  leaseId: string
  order: SignedMessage<OrderBody>
  bid: SignedMessage<BidBody>
  tenantPeerId: string
  state: LeaseState
  /** sequence of the manifest now running; -1 before the first */
  sequence: number
  deployed?: DeployedLease
  /** the manifest now running (while deploying: the one being deployed) */
  manifest?: Manifest
  /** `manifest` as the tenant sent it (canonical bytes), kept so that a restart can deploy it again */
  manifestBytes?: Uint8Array
  /** an update accepted and not finished: rolled out again (or back) after a restart */
  rollout?: { sequence: number, manifest: Uint8Array }
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
  /** tells the network and the tenant (a signed Close); called once per lease (again when a restart finishes the close) */
  announceClose?: (leaseId: string, reason: string) => Promise<void>
  /**
   * keeps the lease's record durably; called synchronously at every change of state, and before
   * each runtime step the record must let a restart finish (deploy, update, close)
   */
  save?: (lease: SavedProviderLease) => void
  /** frees what the bid engine reserved */
  releaseReservation?: (orderId: string) => void
  onEvent?: (evt: ProgressEvent & { leaseId: string }) => void
}

export interface ProviderLeases {
  /** the committee made this lease final with this provider */
  leaseWon: (order: SignedMessage<OrderBody>, bid: SignedMessage<BidBody>) => ProviderLease
  /**
   * after a restart: a lease this provider held, from its saved record (no watchdog for running
   * ones); what it was doing when the provider stopped is finished by `reconcile`
   */
  restore: (order: SignedMessage<OrderBody>, bid: SignedMessage<BidBody>, saved: Pick<SavedProviderLease, 'state' | 'sequence' | 'closeReason' | 'manifest' | 'rollout'>) => ProviderLease
  /** the lease's record as `save` receives it */
  record: (leaseId: string) => SavedProviderLease | undefined
  /** the tenant signed an update; the frame with the same sequence follows */
  acceptUpdate: (remotePeer: string, update: SignedMessage<ManifestUpdateBody>) => void
  /** a manifest frame arrived from `remotePeer` (the peer noise authenticated) */
  handleManifest: (remotePeer: string, frame: ManifestFrame, opts?: { signal?: AbortSignal }) => Promise<DeployedLease>
  /** checks the manifest now (throws LeaseRefusedError) and runs it in the background */
  accept: (remotePeer: string, frame: ManifestFrame, opts?: { signal?: AbortSignal }) => { done: Promise<DeployedLease> }
  close: (leaseId: string, reason: string) => Promise<void>
  get: (leaseId: string) => ProviderLease | undefined
  list: () => ProviderLease[]
  /**
   * after a restart: keeps the runtime objects of the leases held, removes the rest, then finishes
   * what the restart cut short: deploys interrupted are made again from the saved manifest, updates
   * rolled out again (or back), closes finished. Throws when the runtime cannot be reached (nothing
   * is lost: call it again later).
   */
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
  } catch (err) {
    throw new LeaseRefusedError(LeaseRefusal.BAD_MANIFEST, errorMessage(err))
  }
  readChecked(bytes, order)
}

/** a runtime error that retrying later can help (the engine unreachable, say) */
const isTransient = (err: unknown): boolean => errorField(err, 'transient') === true

export function providerLeases (init: ProviderLeasesInit): (components: ProviderLeasesComponents) => ProviderLeases {
  return (components) => {
    const clock = components.clock ?? systemClock()
    const leases = new Map<string, ProviderLease>()
    const watchdogs = new Map<string, Timer>()
    const updates = new Map<string, ManifestUpdateBody>()
    /** closes under way: a second close of the same lease waits for the first */
    const closing = new Map<string, Promise<void>>()
    const emit = (leaseId: string, type: string, detail?: unknown): void => { components.onEvent?.({ leaseId, type, detail }) }
    const ref = (lease: ProviderLease): { leaseId: string, tenant: string, provider: string } => ({ leaseId: lease.leaseId, tenant: lease.tenantPeerId, provider: peerIdOfPublicKey(components.signer.publicKey) })

    function record (lease: ProviderLease): SavedProviderLease {
      return {
        lease: lease.leaseId,
        order: lease.order.bytes,
        bid: lease.bid.bytes,
        state: lease.state,
        sequence: lease.sequence,
        ...(lease.closeReason != null ? { closeReason: lease.closeReason } : {}),
        ...(lease.manifestBytes != null && lease.state !== 'closed' ? { manifest: lease.manifestBytes } : {}),
        ...(lease.rollout != null && lease.state !== 'closed' ? { rollout: lease.rollout } : {})
      }
    }
    const save = (lease: ProviderLease): void => { components.save?.(record(lease)) }
    /** the lease is closed or being closed: nothing may run for it any more */
    const ending = (lease: ProviderLease): boolean => lease.state === 'closing' || lease.state === 'closed'

    function lookup (leaseId: string, remotePeer: string): ProviderLease {
      const lease = leases.get(leaseId)
      if (lease == null) throw new LeaseRefusedError(LeaseRefusal.UNKNOWN_LEASE, `no lease ${leaseId} with this provider`)
      if (remotePeer !== lease.tenantPeerId) throw new LeaseRefusedError(LeaseRefusal.NOT_TENANT, `peer ${remotePeer} is not the tenant of lease ${leaseId}`)
      if (ending(lease)) throw new LeaseRefusedError(LeaseRefusal.LEASE_CLOSED, `lease ${leaseId} is closed (${lease.closeReason ?? 'closed'})`)
      return lease
    }

    /** `repeat`: the first manifest sent again (a tenant's retry), answered as the first was, run once */
    interface Prepared { lease: ProviderLease, leaseId: string, manifest: Manifest, bytes: Uint8Array, first: boolean, sequence: number, repeat?: boolean }
    /** first deployments under way, so that a repeat of their manifest waits for the same outcome */
    const firstDeploys = new Map<string, Promise<DeployedLease>>()

    /** every check, synchronously: a refusal is thrown before anything runs */
    function prepare (remotePeer: string, frame: ManifestFrame): Prepared {
      const leaseId = toHex(frame.lease)
      const lease = lookup(leaseId, remotePeer)
      const first = frame.sequence === 0
      if (first && lease.state !== 'awaiting-manifest') {
        // a tenant retrying after a network failure sends the same bytes again: the same answer (manifest spec §5)
        if (lease.sequence <= 0 && lease.manifest != null && lease.manifestBytes != null && sameBytes(lease.manifestBytes, frame.manifest)) {
          return { lease, leaseId, manifest: lease.manifest, bytes: lease.manifestBytes, first, sequence: 0, repeat: true }
        }
        throw new LeaseRefusedError(LeaseRefusal.OUT_OF_SEQUENCE, `lease ${leaseId} already has its manifest`)
      }
      if (!first && lease.rollout != null) throw new LeaseRefusedError(LeaseRefusal.OUT_OF_SEQUENCE, `lease ${leaseId} is still rolling out manifest ${lease.rollout.sequence}`)
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
      const bytes = Uint8Array.from(frame.manifest)
      if (first) {
        watchdogs.get(leaseId)?.cancel()
        watchdogs.delete(leaseId)
        lease.state = 'deploying'
        // kept before anything runs: a restart deploys it again
        lease.manifest = manifest
        lease.manifestBytes = bytes
        emit(leaseId, 'manifest:accepted', { sequence: 0, manifest })
      } else {
        // kept before the rollout starts: a restart rolls it out again, or back
        lease.rollout = { sequence: frame.sequence, manifest: bytes }
        emit(leaseId, 'manifest:update-accepted', { sequence: frame.sequence, manifest })
      }
      save(lease)
      return { lease, leaseId, manifest, bytes, first, sequence: frame.sequence }
    }

    /** the first deployment of the lease's manifest (also after a restart cut one short) */
    async function deployFirst (lease: ProviderLease, manifest: Manifest, opts: { signal?: AbortSignal }): Promise<DeployedLease> {
      const leaseId = lease.leaseId
      const onProgress = (evt: ProgressEvent): void => emit(leaseId, evt.type, evt.detail)
      try {
        lease.deployed = await components.runtime.deploy(ref(lease), manifest, { signal: opts.signal, onProgress })
      } catch (err) {
        lease.error = `deployment failed: ${errorMessage(err)}`
        emit(leaseId, 'lease:deploy-failed', { error: lease.error })
        await api.close(leaseId, lease.error).catch(() => {})
        throw new LeaseRefusedError(LeaseRefusal.DEPLOY_FAILED, lease.error)
      }
      // a close that raced the deploy wins: undo what the deploy made
      if (ending(lease)) {
        await components.runtime.close(leaseId).catch(() => {})
        throw new LeaseRefusedError(LeaseRefusal.LEASE_CLOSED, `lease ${leaseId} was closed while deploying`)
      }
      lease.state = 'running'
      lease.sequence = 0
      lease.manifest = manifest
      emit(leaseId, 'lease:running', lease.deployed)
      save(lease)
      return lease.deployed
    }

    async function run (p: Prepared, opts: { signal?: AbortSignal }): Promise<DeployedLease> {
      const { lease, leaseId, manifest } = p
      if (p.repeat === true) {
        const under = firstDeploys.get(leaseId)
        if (under != null) return await under
        if (lease.state === 'running' && lease.deployed != null) return lease.deployed
        throw new LeaseRefusedError(LeaseRefusal.OUT_OF_SEQUENCE, `lease ${leaseId} already has its manifest, and its deployment is not running (${lease.state})`)
      }
      if (p.first) {
        const d = deployFirst(lease, manifest, opts)
        firstDeploys.set(leaseId, d)
        try { return await d } finally { firstDeploys.delete(leaseId) }
      }
      const onProgress = (evt: ProgressEvent): void => emit(leaseId, evt.type, evt.detail)
      lease.lastUpdate = { sequence: p.sequence }
      try {
        lease.deployed = await components.runtime.update(leaseId, manifest, { signal: opts.signal, onProgress })
      } catch (err) {
        // the runtime keeps the old manifest running
        lease.lastUpdate.error = errorMessage(err)
        if (lease.rollout?.sequence === p.sequence) lease.rollout = undefined
        emit(leaseId, 'lease:update-failed', { sequence: p.sequence, error: lease.lastUpdate.error })
        if (!ending(lease)) save(lease)
        throw new LeaseRefusedError(LeaseRefusal.DEPLOY_FAILED, `update failed, the previous manifest keeps running: ${errorMessage(err)}`)
      } finally {
        updates.delete(leaseId)
      }
      if (lease.rollout?.sequence === p.sequence) lease.rollout = undefined
      // a close that raced the rollout wins: undo what the rollout made after the close removed the rest
      if (ending(lease)) {
        await components.runtime.close(leaseId).catch(() => {})
        throw new LeaseRefusedError(LeaseRefusal.LEASE_CLOSED, `lease ${leaseId} was closed while its update rolled out`)
      }
      lease.sequence = p.sequence
      lease.manifest = manifest
      lease.manifestBytes = p.bytes
      emit(leaseId, 'lease:updated', { sequence: p.sequence })
      save(lease)
      return lease.deployed
    }

    /** the second half of a close, after its intent was saved: the objects go, then the record says closed */
    async function finishClose (lease: ProviderLease, removeObjects: boolean): Promise<void> {
      const leaseId = lease.leaseId
      const reason = lease.closeReason ?? 'closed'
      components.releaseReservation?.(leaseId)
      if (removeObjects) await components.runtime.close(leaseId)
      lease.state = 'closed'
      lease.rollout = undefined
      emit(leaseId, 'lease:closed', { reason })
      save(lease)
      await components.announceClose?.(leaseId, reason)
    }

    function startClose (lease: ProviderLease, removeObjects: boolean): Promise<void> {
      const leaseId = lease.leaseId
      const p = finishClose(lease, removeObjects).finally(() => { closing.delete(leaseId) })
      closing.set(leaseId, p)
      return p
    }

    /** an update cut short by a restart: rolled out again; when that fails, the running manifest is put back alone */
    async function finishRollout (lease: ProviderLease): Promise<void> {
      const r = lease.rollout
      if (r == null) return
      const leaseId = lease.leaseId
      const onProgress = (evt: ProgressEvent): void => emit(leaseId, evt.type, evt.detail)
      let manifest: Manifest | undefined
      try { manifest = readChecked(r.manifest, lease.order.body) } catch {}
      lease.lastUpdate = { sequence: r.sequence }
      try {
        if (manifest == null) throw new MarketError(MarketErrorCode.UNFINISHED, 'the saved manifest of the update cannot be read')
        lease.deployed = await components.runtime.update(leaseId, manifest, { onProgress })
        if (ending(lease)) { await components.runtime.close(leaseId).catch(() => {}); return }
        lease.sequence = r.sequence
        lease.manifest = manifest
        lease.manifestBytes = r.manifest
        lease.rollout = undefined
        emit(leaseId, 'lease:updated', { sequence: r.sequence })
        save(lease)
        return
      } catch (err) {
        if (isTransient(err)) throw err
        lease.lastUpdate.error = errorMessage(err)
      }
      // the update cannot run: the manifest that ran before it runs again, as the only generation
      // (a failure here that retrying cannot help is reported, not retried for ever)
      if (lease.manifest != null) {
        try {
          lease.deployed = await components.runtime.update(leaseId, lease.manifest, { onProgress })
        } catch (err) {
          if (isTransient(err)) throw err
          lease.lastUpdate.error = `${lease.lastUpdate.error ?? ''}; putting the previous manifest back failed too: ${errorMessage(err)}`
        }
      } else {
        lease.lastUpdate.error = `${lease.lastUpdate.error ?? ''}; the previous manifest is not known, so it could not be put back`
      }
      if (ending(lease)) { await components.runtime.close(leaseId).catch(() => {}); return }
      lease.rollout = undefined
      emit(leaseId, 'lease:update-failed', { sequence: r.sequence, error: lease.lastUpdate.error })
      save(lease)
    }

    /** what a restart cut short, finished: one lease at a time */
    async function resume (lease: ProviderLease): Promise<void> {
      if (lease.state === 'closing') {
        await (closing.get(lease.leaseId) ?? startClose(lease, true))
      } else if (lease.state === 'deploying') {
        if (lease.manifest == null) {
          await api.close(lease.leaseId, 'the provider restarted while deploying the lease and kept no manifest to deploy again')
          return
        }
        // whatever the cut deploy made goes first: the deploy starts from nothing
        await components.runtime.close(lease.leaseId)
        if (ending(lease)) return
        emit(lease.leaseId, 'lease:redeploying', { reason: 'the provider restarted while deploying' })
        await deployFirst(lease, lease.manifest, {}).catch((err: unknown) => { if (!(err instanceof LeaseRefusedError)) throw err })
      } else if (lease.state === 'running' && lease.rollout != null) {
        await finishRollout(lease)
      }
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
        save(lease)
        return lease
      },

      restore (order, bid, saved) {
        const leaseId = order.idHex
        const existing = leases.get(leaseId)
        if (existing != null) return existing
        if (saved.state === 'awaiting-manifest') return api.leaseWon(order, bid)
        const lease: ProviderLease = { leaseId, order, bid, tenantPeerId: peerIdOfPublicKey(order.signer), state: saved.state, sequence: saved.sequence, wonAt: clock.now() }
        if (saved.closeReason != null) lease.closeReason = saved.closeReason
        if (saved.manifest != null) {
          lease.manifestBytes = saved.manifest
          try { lease.manifest = readChecked(saved.manifest, order.body) } catch {}
        }
        if (saved.rollout != null) lease.rollout = saved.rollout
        leases.set(leaseId, lease)
        return lease
      },

      record: (id) => { const l = leases.get(id); return l != null ? record(l) : undefined },

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
        const under = closing.get(leaseId)
        if (under != null) { await under; return }
        // a restored close not finished yet: finish it
        if (lease.state === 'closing') { await startClose(lease, true); return }
        const hasObjects = lease.state !== 'awaiting-manifest'
        lease.state = 'closing'
        lease.closeReason = reason
        watchdogs.get(leaseId)?.cancel()
        watchdogs.delete(leaseId)
        // the intent first: a provider killed while the objects go finishes the close when it starts again
        save(lease)
        await startClose(lease, hasObjects)
      },

      get: (id) => leases.get(id),
      list: () => [...leases.values()],

      async reconcile () {
        const active = new Set([...leases.values()].filter((l) => !ending(l)).map((l) => l.leaseId))
        const r = await components.runtime.reconcile(active)
        const failed: string[] = []
        for (const lease of [...leases.values()]) {
          try {
            await resume(lease)
          } catch (err) {
            failed.push(`${lease.leaseId.slice(0, 16)}…: ${errorMessage(err)}`)
          }
        }
        if (failed.length > 0) throw new MarketError(MarketErrorCode.UNFINISHED, `${failed.length} lease(s) could not be brought back after the restart: ${failed.join('; ')}`)
        return r
      },

      stop () {
        for (const t of watchdogs.values()) t.cancel()
        watchdogs.clear()
      }
    }
    return api
  }
}
