// Usage metering: a statement to the tenant every interval while a lease runs, at the winning
// bid's price; statements and the tenant's countersignatures are kept, so billing goes on from
// the last one after a restart.
import { peerIdFromString } from '@libp2p/peer-id'
import { openMessage, MessageTag } from '../../wire/index.ts'
import type { UsageStatementBody, UsageAckBody } from '../../wire/index.ts'
import { usageMeter, addAmounts } from '../../market/index.ts'
import type { ProviderLease, UsageMeter, UsageRecord } from '../../market/index.ts'
import type { SoukNode } from '../../net/index.ts'
import type { Identity } from '../../identity/index.ts'
import { peerIdOfPublicKey } from '../../identity/index.ts'
import type { Store } from '../../store/index.ts'
import { sendUsage } from '../../net/index.ts'
import { records } from '../records.ts'
import type { Logger } from '../logger.ts'
import { RECORD_USAGE } from './constants.ts'
import type { LifecycleEvent } from './lifecycle-events.ts'

/** a usage record as the store holds it: the signed messages, of which only the envelope bytes are read back */
interface StoredUsage { lease: string, records: Array<{ statement: { bytes: Uint8Array }, ack?: { bytes: Uint8Array } }> }

export interface UsageInit { intervalMs: number, graceMs: number }

export interface UsageComponents {
  identity: Identity
  net: SoukNode
  store: Store
  logger: Logger
  lease: (leaseId: string) => ProviderLease | undefined
  closeLease: (leaseId: string, reason: string) => Promise<void>
}

export interface LeaseUsage {
  readonly meter: UsageMeter
  /** bills from now, going on from the statements saved before a restart */
  resume: (leaseId: string) => void
  onLifecycle: (evt: LifecycleEvent) => void
  start: () => void
  stop: () => void
}

export function leaseUsage (init: UsageInit, components: UsageComponents): LeaseUsage {
  const { identity, net, logger } = components
  const saved = records<StoredUsage>(components.store, RECORD_USAGE)
  const meter: UsageMeter = usageMeter({ intervalMs: init.intervalMs, graceMs: init.graceMs })({
    signer: identity,
    sendStatement: async (lease, statement) => {
      const answer = await sendUsage(net, peerIdFromString(peerIdOfPublicKey(lease.tenant)), statement)
      if (answer.ok) meter.handleAck(answer.ack)
      else logger.warn({ lease: statement.body.lease, code: answer.code, reason: answer.reason }, 'tenant refused a usage statement')
    },
    closeLease: components.closeLease,
    onRecord: (leaseId) => { saved.put(leaseId, { lease: leaseId, records: meter.records(leaseId) }) }
  })

  /** bills from now at the winning bid's price (all groups in one denom) */
  function bill (leaseId: string, previous?: UsageRecord[]): void {
    const l = components.lease(leaseId)
    if (l == null) return
    const prices = l.bid.body.prices
    if (new Set(prices.map((x) => x.denom)).size !== 1) { logger.warn({ lease: leaseId }, 'bid prices span several denoms; usage is not metered'); return }
    meter.track({ leaseId: l.order.id, tenant: l.order.signer, rate: { denom: prices[0].denom, amount: addAmounts(...prices.map((x) => x.amount)) }, startedAt: Date.now(), previous })
  }

  return {
    meter,
    resume (leaseId) {
      // statements were stored with their envelopes, verified when made: opened again as what they are
      const prior = (saved.get(leaseId)?.records ?? []).map((r): UsageRecord => ({
        statement: openMessage<UsageStatementBody>(r.statement.bytes, { trusted: true, expect: MessageTag.USAGE_STATEMENT }),
        ack: r.ack != null ? openMessage<UsageAckBody>(r.ack.bytes, { trusted: true, expect: MessageTag.USAGE_ACK }) : undefined
      }))
      bill(leaseId, prior)
    },
    onLifecycle (evt) {
      if (evt.type === 'lease:running') bill(evt.leaseId)
      else if (evt.type === 'lease:closed') meter.untrack(evt.leaseId)
    },
    start: () => { meter.start() },
    stop: () => { meter.stop() }
  }
}
