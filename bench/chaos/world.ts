// What the harness reads after a trial: the tenant's and providers' views through their control
// APIs (as `souk lease list` shows them), every Docker object the providers own, and the
// committee's decisions and signatures from the validators' stores.
import { join } from 'node:path'
import type Docker from 'dockerode'
import { controlClient } from '../../src/api/index.ts'
import { controlSocketPath } from '../../src/node/daemon.ts'
import type { DevnetState, DevnetNode } from '../../src/node/devnet.ts'
import { devnetRunning } from '../../src/node/devnet.ts'
import { publicKeyOfPeerId } from '../../src/identity/index.ts'
import { toHex } from '../../src/wire/index.ts'
import { LABEL_INSTANCE, LABEL_LEASE, LABEL_SERVICE, LABEL_REPLICA, LABEL_GENERATION } from '../../src/runtime/index.ts'
import { readStore, committeeView, replayOutcomes } from './stores.ts'
import type { DecidedOutcomes } from './stores.ts'
import { SignatureLedger } from './invariants.ts'
import type { LeaseWorld, ProviderView, TenantDeployment, DockerObject } from './invariants.ts'

export const keyOf = (n: DevnetNode): string => toHex(publicKeyOfPeerId(n.peerId)!)
const client = (n: DevnetNode): ReturnType<typeof controlClient> => controlClient({ socketPath: controlSocketPath(n.home), home: n.home })

export async function tenantView (n: DevnetNode): Promise<TenantDeployment[]> {
  const r = await client(n).get<any>('/v1/leases', { signal: AbortSignal.timeout(10_000) })
  return r.tenant.map((d: any) => ({ order: d.order, state: d.state, provider: d.provider, reason: d.reason }))
}

export async function providerView (n: DevnetNode): Promise<ProviderView> {
  const r = await client(n).get<any>('/v1/leases', { signal: AbortSignal.timeout(10_000) })
  return { name: n.name, key: keyOf(n), peerId: n.peerId, owner: n.owner!, leases: r.provider.map((l: any) => ({ lease: l.lease, state: l.state, closeReason: l.closeReason })) }
}

export async function dockerObjects (docker: Docker, owners: string[]): Promise<DockerObject[]> {
  const out: DockerObject[] = []
  for (const owner of owners) {
    const filters = { label: [`${LABEL_INSTANCE}=${owner}`] }
    for (const c of await docker.listContainers({ all: true, filters })) {
      out.push({ kind: 'container', name: (c.Names[0] ?? c.Id).replace(/^\//, ''), lease: c.Labels[LABEL_LEASE] ?? '', owner, service: c.Labels[LABEL_SERVICE], replica: c.Labels[LABEL_REPLICA], generation: c.Labels[LABEL_GENERATION], running: c.State === 'running' })
    }
    for (const nw of await docker.listNetworks({ filters })) out.push({ kind: 'network', name: nw.Name, lease: nw.Labels?.[LABEL_LEASE] ?? '', owner })
    for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) out.push({ kind: 'volume', name: v.Name, lease: v.Labels?.[LABEL_LEASE] ?? '', owner })
  }
  return out
}

/**
 * Follows the validators' stores through the whole run: every signature read goes into one
 * ledger (a slot signed twice with different values is a conflict, across any crash), and the
 * final batches are replayed once each through the committee's ledger for the decided leases.
 */
export class CommitteeWatch {
  readonly ledger = new SignatureLedger()
  private outcomes: DecidedOutcomes | undefined
  private readonly validators: DevnetNode[]
  private readonly keys: string[]
  private readonly dir: string
  /** stores of other processes signing with a validator's key (a twin started on purpose) */
  private readonly extra: Array<{ name: string, home: string, key: string, running: () => boolean }> = []
  private sampling: Promise<void> | undefined
  /** per validator: the next final batch to read (batches, once final, never change) */
  private readonly next = new Map<string, number>()

  constructor (state: DevnetState) {
    this.dir = state.dir
    this.validators = state.nodes.filter((n) => n.role === 'validator')
    this.keys = this.validators.map(keyOf)
  }

  addSource (name: string, home: string, key: string, running: () => boolean): void { this.extra.push({ name, home, key, running }) }

  /** reads every validator's store (a copy of it for one that is not running); one read at a time */
  async sample (): Promise<void> {
    this.sampling ??= this.sampleAll().finally(() => { this.sampling = undefined })
    await this.sampling
  }

  private async sampleAll (): Promise<void> {
    const sources = [
      ...await Promise.all(this.validators.map(async (v) => ({ name: v.name, home: v.home, key: keyOf(v), up: await devnetRunning(this.dir, v.name) }))),
      ...this.extra.map((x) => ({ name: x.name, home: x.home, key: x.key, up: x.running() }))
    ]
    for (const v of sources) {
      let h
      try { h = readStore(join(v.home, 'store.db'), { copy: !v.up }) } catch { continue }
      if (h == null) continue
      try {
        const view = committeeView(h.db, v.key, v.name, this.next.get(v.name) ?? 1)
        this.ledger.addView(view, this.keys, v.name)
        // the last one read again next time: its finalize signatures may still be coming in
        this.next.set(v.name, Math.max(1, view.lastHeight))
      } catch {
        // a read racing a checkpoint: the next sample sees it
      } finally { h.close() }
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  /** the leases, expiries and closes decided, from the running validator with the most batches */
  async decided (): Promise<DecidedOutcomes> {
    let best: DecidedOutcomes | undefined
    for (const v of this.validators) {
      if (!await devnetRunning(this.dir, v.name)) continue
      const h = readStore(join(v.home, 'store.db'))
      if (h == null) continue
      try {
        const o = replayOutcomes(h.db, join(v.home, 'committee.json'))
        if (best == null || o.height > best.height) best = o
      } catch {} finally { h.close() }
    }
    if (best != null) this.outcomes = best
    return this.outcomes ?? { leases: new Map(), expired: new Map(), closed: new Map(), height: 0 }
  }
}

export async function readWorld (state: DevnetState, docker: Docker, watch: CommitteeWatch): Promise<LeaseWorld> {
  const tenant = state.nodes.find((n) => n.role === 'tenant')!
  const providers = state.nodes.filter((n) => n.role === 'provider')
  return {
    tenant: await tenantView(tenant),
    providers: await Promise.all(providers.map(providerView)),
    decided: await watch.decided(),
    docker: await dockerObjects(docker, providers.map((p) => p.owner!)),
    replicas: () => 1
  }
}
