// The invariants checked after every chaos trial, as pure functions over what was read from the
// nodes (their control APIs, their stores) and from the Docker engine, so that each rule can be
// shown to fail on a world built to break it (test/chaos/invariants.test.ts).
import type { Signature, CommitteeStoreView, DecidedOutcomes } from './stores.ts'

/** the four figures of the chaos line; every violation counts in one of them */
export type Counter = 'leases_lost' | 'orphans' | 'conflicting_votes' | 'diverged_views'

export interface Violation {
  counter: Counter
  /** lost, duplicated, two-providers, container-missing, orphan, stale-replica, diverged, stuck, phantom, conflicting-signature, fork, evidence */
  rule: string
  /** the lease (order ID) or signature slot concerned */
  subject: string
  detail: string
}

// ---- signatures ----

/** Every signature seen, by slot; a second value in one slot is a conflict, whenever and wherever it was read. */
export class SignatureLedger {
  private readonly slots = new Map<string, Signature>()
  /** height → header hash of the final batch, and where it was first read */
  private readonly headers = new Map<number, { header: string, source: string }>()
  private readonly reported = new Set<string>()
  readonly violations: Violation[] = []
  private readonly evidence = new Map<string, number>()

  add (sig: Signature): void {
    const slot = `${sig.signer.slice(0, 16)} ${sig.kind} h${sig.height} r${sig.round}`
    const prev = this.slots.get(slot)
    if (prev == null) { this.slots.set(slot, sig); return }
    if (prev.value === sig.value) return
    const key = `${slot} ${[prev.value, sig.value].sort().join(' ')}`
    if (this.reported.has(key)) return
    this.reported.add(key)
    this.violations.push({ counter: 'conflicting_votes', rule: 'conflicting-signature', subject: slot, detail: `signed ${prev.value.slice(0, 12) || 'nil'} (${prev.source}) and ${sig.value.slice(0, 12) || 'nil'} (${sig.source})` })
  }

  /** a validator's store: its own signatures, the precommits and finalize signatures kept with final batches */
  addView (view: CommitteeStoreView, validators: readonly string[], source: string): void {
    for (const s of view.signed) this.add(s)
    for (const s of view.commitVotes) this.add(s)
    for (const [height, header] of view.batches) {
      const prev = this.headers.get(height)
      if (prev == null) this.headers.set(height, { header, source })
      else if (prev.header !== header) {
        const key = `fork ${height}`
        if (!this.reported.has(key)) {
          this.reported.add(key)
          this.violations.push({ counter: 'conflicting_votes', rule: 'fork', subject: `height ${height}`, detail: `final batch ${prev.header.slice(0, 12)} in ${prev.source}, ${header.slice(0, 12)} in ${source}` })
        }
      }
    }
    // a finalize signature is over the batch header: one kept at a height is for that height's batch
    for (const f of view.finalizers) {
      const signer = validators[f.index]
      if (signer != null) this.add({ signer, kind: 'finalize', height: f.height, round: 0, value: f.header, source: `${source} batch ${f.height}` })
    }
    const before = this.evidence.get(source) ?? 0
    if (view.evidence > before) {
      this.evidence.set(source, view.evidence)
      this.violations.push({ counter: 'conflicting_votes', rule: 'evidence', subject: source, detail: `${view.evidence - before} new equivocation evidence record(s) kept by ${source}` })
    }
  }
}

// ---- leases ----

export type TenantState = 'ordering' | 'leased' | 'deploying' | 'running' | 'failed' | 'expired' | 'closed'
export interface TenantDeployment { order: string, state: TenantState, provider?: string, reason?: string }
export interface ProviderLeaseView { lease: string, state: 'awaiting-manifest' | 'deploying' | 'running' | 'closed', closeReason?: string }
export interface ProviderView {
  name: string
  /** public key, hex (as in lease certificates) */
  key: string
  peerId: string
  /** the Docker label value marking this provider's objects */
  owner: string
  leases: ProviderLeaseView[]
}
export interface DockerObject {
  kind: 'container' | 'network' | 'volume'
  name: string
  lease: string
  owner: string
  service?: string
  replica?: string
  generation?: string
  running?: boolean
}
export interface LeaseWorld {
  tenant: TenantDeployment[]
  providers: ProviderView[]
  decided: DecidedOutcomes
  docker: DockerObject[]
  /** replicas the lease's manifest runs, per order (the harness deploys one service) */
  replicas: (order: string) => number
}

const TRANSITIONAL = new Set(['ordering', 'leased', 'deploying'])
const short = (id: string): string => id.slice(0, 12)

/** the lease rules: nothing lost, duplicated or held twice; no stray objects; the tenant and its provider agree */
export function checkLeases (w: LeaseWorld): Violation[] {
  const out: Violation[] = []
  const v = (counter: Counter, rule: string, subject: string, detail: string): void => { out.push({ counter, rule, subject: short(subject), detail }) }
  const byKey = new Map(w.providers.map((p) => [p.key, p]))
  const byPeer = new Map(w.providers.map((p) => [p.peerId, p]))
  const active = (l: ProviderLeaseView | undefined): boolean => l != null && l.state !== 'closed'

  for (const lease of w.decided.leases.values()) {
    const o = lease.order
    const p = byKey.get(lease.provider)
    const ds = w.tenant.filter((d) => d.order === o)
    if (ds.length > 1) v('leases_lost', 'duplicated', o, `the tenant holds ${ds.length} deployments for one lease`)
    const d = ds[0]
    if (p == null) { v('leases_lost', 'lost', o, `certified to provider ${short(lease.provider)}, which is not one of this network's providers`); continue }
    const pls = p.leases.filter((l) => l.lease === o)
    if (pls.length > 1) v('leases_lost', 'duplicated', o, `${p.name} holds the lease ${pls.length} times`)
    const pl = pls[0]
    for (const q of w.providers) {
      if (q !== p && q.leases.some((l) => l.lease === o && active(l))) v('leases_lost', 'two-providers', o, `certified to ${p.name}, also held by ${q.name}`)
    }
    if (d == null) { v('leases_lost', 'lost', o, `certified (batch ${lease.height}), but the tenant has no record of it (${p.name}: ${pl?.state ?? 'unknown'})`); continue }
    if (d.provider != null && byPeer.get(d.provider) !== p) v('diverged_views', 'diverged', o, `the tenant names provider ${d.provider.slice(-8)}, the certificate ${p.name}`)
    if (d.state === 'running') {
      if (pl == null) v('leases_lost', 'lost', o, `the tenant sees it running; ${p.name} does not know the lease`)
      else if (pl.state === 'closed') v('diverged_views', 'diverged', o, `the tenant sees it running; ${p.name} closed it (${pl.closeReason ?? 'no reason'})`)
      else if (pl.state !== 'running') v('diverged_views', 'diverged', o, `the tenant sees it running; ${p.name} has it ${pl.state}`)
    } else if (d.state === 'closed' || d.state === 'failed') {
      if (d.state === 'failed' && (d.reason == null || d.reason === '')) v('diverged_views', 'diverged', o, 'failed without a reason the tenant can see')
      if (active(pl)) v('diverged_views', 'diverged', o, `the tenant sees it ${d.state}${d.reason != null && d.reason !== '' ? ` (${d.reason.slice(0, 80)})` : ''}; ${p.name} has it ${pl!.state}`)
    } else if (d.state === 'expired') {
      v('diverged_views', 'diverged', o, `the tenant believes no lease was made (${(d.reason ?? '').slice(0, 80)}); the committee certified it to ${p.name} (${pl?.state ?? 'unknown there'}${pl?.closeReason != null ? `: ${pl.closeReason}` : ''})`)
    } else if (TRANSITIONAL.has(d.state)) {
      v('diverged_views', 'stuck', o, `the tenant still shows it ${d.state}; ${p.name}: ${pl?.state ?? 'unknown'}${pl?.closeReason != null ? ` (${pl.closeReason})` : ''}`)
    }
    // the containers of a lease the provider runs
    if (pl?.state === 'running') {
      const cs = w.docker.filter((x) => x.kind === 'container' && x.lease === o && x.owner === p.owner)
      const up = cs.filter((x) => x.running === true)
      if (cs.length === 0) v('leases_lost', 'container-missing', o, `${p.name} runs the lease, but it has no container`)
      else if (up.length < w.replicas(o)) v('leases_lost', 'container-missing', o, `${p.name} runs the lease with ${up.length} of ${w.replicas(o)} replicas running`)
    }
  }

  for (const d of w.tenant) {
    if (w.decided.leases.has(d.order)) continue
    const expired = w.decided.expired.get(d.order)
    if (d.state === 'running' || d.state === 'deploying' || d.state === 'leased') v('diverged_views', 'phantom', d.order, `the tenant shows it ${d.state}; the committee made no lease${expired != null ? ` (expired: ${expired.code})` : ''}`)
    else if (d.state === 'ordering') v('diverged_views', 'stuck', d.order, `the tenant still shows it ordering; the committee ${expired != null ? `expired it (${expired.code})` : 'never decided it'}`)
  }
  for (const p of w.providers) {
    for (const l of p.leases) {
      if (!w.decided.leases.has(l.lease)) v('leases_lost', 'phantom', l.lease, `${p.name} holds a lease the committee never decided`)
    }
  }

  // objects: each belongs to a lease its provider holds, and a lease has one replica per slot
  const owners = new Map(w.providers.map((p) => [p.owner, p]))
  const slots = new Map<string, DockerObject[]>()
  for (const x of w.docker) {
    const p = owners.get(x.owner)
    if (p == null) continue
    const pl = p.leases.find((l) => l.lease === x.lease)
    if (pl == null || pl.state === 'closed' || pl.state === 'awaiting-manifest') {
      v('orphans', 'orphan', x.lease, `${x.kind} ${x.name} of ${p.name} for a lease it ${pl == null ? 'does not hold' : `has ${pl.state}`}`)
      continue
    }
    if (x.kind === 'container') {
      const k = `${x.owner}/${x.lease}/${x.service ?? ''}/${x.replica ?? ''}`
      slots.set(k, [...(slots.get(k) ?? []), x])
    }
  }
  for (const xs of slots.values()) {
    if (xs.length > 1) v('orphans', 'stale-replica', xs[0].lease, `${xs.length} containers for replica ${xs[0].service ?? ''}/${xs[0].replica ?? ''} (generations ${xs.map((x) => x.generation).join(', ')})`)
  }
  return out
}

export function countBy (vs: readonly Violation[]): Record<Counter, number> {
  const c: Record<Counter, number> = { leases_lost: 0, orphans: 0, conflicting_votes: 0, diverged_views: 0 }
  for (const x of vs) c[x.counter]++
  return c
}
