// The record that follows a provider: how many leases it won, how many it served and how many its
// tenants closed as lost or failed. A pure function of the final batches (the ledger keeps it as
// it applies them), so every validator, one replaying its store or one catching up, holds the same
// figures at the same height, and matching can use them (protocols/committee.md §6.2). Provider
// identities cost nothing, so a record only ever keeps a provider out; a fresh key starts clean.
import type { WireAccept } from '../wire/messages/order.ts'
import { CloseCode, DEFAULT_ACCEPT } from '../wire/constants.ts'
import { equal, hex } from './bytes.ts'
import { SERVED_AFTER_MS, PROVIDER_FAILED_WINDOW_MS } from './constants.ts'

export interface ProviderRecord {
  /** leases it won */
  won: number
  /** leases that ran SERVED_AFTER_MS of committee time with no failure counted against them */
  served: number
  /** leases its tenant closed as `provider-lost` (counted ones) */
  lost: number
  /** leases its tenant closed as `provider-failed` (counted ones) */
  failed: number
  /** failure closes that did not count (a second one from the same tenant, a late `provider-failed`, one signed by the provider) */
  uncounted: number
}

export const EMPTY_RECORD: Readonly<ProviderRecord> = Object.freeze({ won: 0, served: 0, lost: 0, failed: 0, uncounted: 0 })

export type RecordLookup = (providerHex: string) => Readonly<ProviderRecord>

interface OpenLease { provider: string, tenant: string, time: number, served: boolean }

/** why the order does not accept this provider (its key, hex), or undefined when it does */
export function acceptMisfit (accept: WireAccept | undefined, provider: Uint8Array, record: RecordLookup | undefined): string | undefined {
  // runs for every bid of every order a batch settles: keys compared as bytes, hex only for the lookup
  if (accept != null) {
    if (accept.deny.some((k) => equal(k, provider))) return 'is on the order\'s deny list'
    if (accept.allow.length > 0 && !accept.allow.some((k) => equal(k, provider))) return 'is not on the order\'s allow list'
  }
  if (record == null) return undefined
  const r = record(hex(provider))
  const maxPermille = accept?.maxFailurePermille ?? DEFAULT_ACCEPT.maxFailurePermille
  const minServed = accept?.minServed ?? DEFAULT_ACCEPT.minServed
  const failures = r.lost + r.failed
  if (failures > 0 && failures * 1000 > maxPermille * (failures + r.served)) {
    return `has ${failures} lease(s) closed as lost or failed against ${r.served} served, above the order's failure share ${maxPermille}/1000`
  }
  if (r.served < minServed) return `has served ${r.served} lease(s), the order asks for at least ${minServed}`
  return undefined
}

/**
 * The figures per provider, kept as batches are applied (never in `plan`, so a batch's matching
 * sees the record as of the batch before it). Who may move which figure, and by how much:
 * - `won`: every lease the committee made.
 * - `lost`/`failed`: only a Close signed by the lease's **tenant** with that code, and only one per
 *   (tenant, provider) pair; `provider-failed` only within PROVIDER_FAILED_WINDOW_MS of committee
 *   time after the lease was made (it claims the manifest was never taken, which is decided early).
 * - `served`: a lease still open SERVED_AFTER_MS of committee time after it was made, with no
 *   failure counted against it yet.
 */
export class ProviderRecords {
  private readonly records = new Map<string, ProviderRecord>()
  private readonly open = new Map<string, OpenLease>()
  /** open leases in the order they were made (committee time never goes back), for `served` */
  private queue: Array<[number, string]> = []
  private queueHead = 0
  /** tenant‖provider pairs that already counted a failure */
  private readonly smeared = new Set<string>()

  get (providerHex: string): Readonly<ProviderRecord> { return this.records.get(providerHex) ?? EMPTY_RECORD }
  /** every provider with a record, by key (hex) */
  all (): Array<[string, Readonly<ProviderRecord>]> { return [...this.records.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1) }
  readonly lookup: RecordLookup = (p) => this.get(p)

  private of (p: string): ProviderRecord {
    let r = this.records.get(p)
    if (r == null) { r = { ...EMPTY_RECORD }; this.records.set(p, r) }
    return r
  }

  leaseMade (order: string, tenant: Uint8Array, provider: Uint8Array, time: number): void {
    const p = hex(provider)
    this.of(p).won++
    this.open.set(order, { provider: p, tenant: hex(tenant), time, served: false })
    this.queue.push([time, order])
  }

  /** a Close the ledger accepted for an open lease; `byTenant`: signed by the lease's tenant */
  leaseClosed (order: string, code: CloseCode | undefined, byTenant: boolean, time: number): void {
    const l = this.open.get(order)
    if (l == null) return
    this.open.delete(order)
    if (code == null) return
    const r = this.of(l.provider)
    const pair = `${l.tenant}:${l.provider}`
    const late = code === CloseCode.PROVIDER_FAILED && time - l.time > PROVIDER_FAILED_WINDOW_MS
    if (!byTenant || late || this.smeared.has(pair)) { r.uncounted++; return }
    this.smeared.add(pair)
    if (code === CloseCode.PROVIDER_LOST) r.lost++
    else r.failed++
  }

  /** leases open long enough count as served; called once per applied batch with its committee time */
  advance (time: number): void {
    while (this.queueHead < this.queue.length && this.queue[this.queueHead][0] + SERVED_AFTER_MS <= time) {
      const order = this.queue[this.queueHead][1]
      this.queueHead++
      const l = this.open.get(order)
      if (l != null && !l.served) { l.served = true; this.of(l.provider).served++ }
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) { this.queue = this.queue.slice(this.queueHead); this.queueHead = 0 }
  }
}
