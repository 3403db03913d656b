// Usage accounting: the provider states what each lease cost over each period (time × agreed
// price), signed; the tenant's node checks the arithmetic and countersigns; a provider closes a
// lease whose statements go unanswered past a grace period. Nothing here moves money.
import { signMessage, MessageTag, PRICE_PERIOD_MS, toHex } from '../wire/index.ts'
import type { Price, Signer, SignedMessage, UsageStatementBody, UsageAckBody } from '../wire/index.ts'
import { parseAmount, formatAmount, mulDivCeil } from '../wire/amount.ts'
import { systemClock } from './clock.ts'
import type { Clock, Timer } from './clock.ts'

/** cost of `ms` milliseconds at `rate` per price period, rounded up to 10^-18 */
export function usageAmount (rate: Price, ms: number): Price {
  return { denom: rate.denom, amount: formatAmount(mulDivCeil(parseAmount(rate.amount), BigInt(ms), BigInt(PRICE_PERIOD_MS))) }
}

export interface MeteredLease {
  leaseId: Uint8Array
  tenant: Uint8Array
  rate: Price
  /** when billing starts (the manifest was accepted) */
  startedAt: number
  /** statements issued before a restart: billing goes on from the last one */
  previous?: UsageRecord[]
}

export interface UsageRecord {
  statement: SignedMessage<UsageStatementBody>
  ack?: SignedMessage<UsageAckBody>
}

export interface UsageMeterInit {
  /** how often statements are issued */
  intervalMs: number
  /** how long a statement may go unanswered before the lease is closed */
  graceMs: number
}

export interface UsageMeterComponents {
  signer: Signer
  clock?: Clock
  /** delivers a statement to the lease's tenant; a failure counts as no answer */
  sendStatement: (lease: MeteredLease, statement: SignedMessage<UsageStatementBody>) => Promise<void>
  closeLease: (leaseIdHex: string, reason: string) => Promise<void>
  /** persists statements and acks */
  onRecord?: (leaseIdHex: string, record: UsageRecord) => void
}

export interface UsageMeter {
  track: (lease: MeteredLease) => void
  /** stops metering and issues a final statement up to `at` */
  untrack: (leaseIdHex: string, at?: number) => UsageRecord | undefined
  /** the tenant's countersignature; the signer must be the lease's tenant */
  handleAck: (ack: SignedMessage<UsageAckBody>) => boolean
  records: (leaseIdHex: string) => UsageRecord[]
  /** issue statements now (also runs every intervalMs) */
  tick: () => void
  start: () => void
  stop: () => void
}

interface State { lease: MeteredLease, records: UsageRecord[], periodStart: number, total: bigint }

export function usageMeter (init: UsageMeterInit): (components: UsageMeterComponents) => UsageMeter {
  return (components) => {
    const clock = components.clock ?? systemClock()
    const leases = new Map<string, State>()
    let timer: Timer | undefined

    function issue (s: State, end: number): UsageRecord | undefined {
      if (end <= s.periodStart) return undefined
      const amount = usageAmount(s.lease.rate, end - s.periodStart)
      s.total += parseAmount(amount.amount)
      const statement = signMessage<UsageStatementBody>(components.signer, MessageTag.USAGE_STATEMENT, {
        lease: s.lease.leaseId,
        sequence: s.records.length,
        periodStart: s.periodStart,
        periodEnd: end,
        rate: s.lease.rate,
        amount,
        total: { denom: s.lease.rate.denom, amount: formatAmount(s.total) }
      }, { createdAt: end })
      const record: UsageRecord = { statement }
      s.records.push(record)
      s.periodStart = end
      const id = toHex(s.lease.leaseId)
      components.onRecord?.(id, record)
      components.sendStatement(s.lease, statement).catch(() => {})
      return record
    }

    const meter: UsageMeter = {
      track (lease) {
        const id = toHex(lease.leaseId)
        if (leases.has(id)) return
        const prev = lease.previous ?? []
        const last = prev.at(-1)?.statement.body
        leases.set(id, { lease, records: [...prev], periodStart: last?.periodEnd ?? lease.startedAt, total: last != null ? parseAmount(last.total.amount) : 0n })
      },
      untrack (id, at) {
        const s = leases.get(id)
        if (s == null) return undefined
        leases.delete(id)
        return issue(s, at ?? clock.now())
      },
      handleAck (ack) {
        const s = leases.get(toHex(ack.body.lease))
        if (s == null) return false
        if (Buffer.compare(Buffer.from(ack.signer), Buffer.from(s.lease.tenant)) !== 0) return false
        const r = s.records[ack.body.sequence]
        if (r == null || Buffer.compare(Buffer.from(r.statement.id), Buffer.from(ack.body.statement)) !== 0) return false
        r.ack = ack
        components.onRecord?.(toHex(s.lease.leaseId), r)
        return true
      },
      records: (id) => [...(leases.get(id)?.records ?? [])],
      tick () {
        const now = clock.now()
        for (const [id, s] of [...leases]) {
          // the oldest unanswered statement decides; answered ones are settled
          const open = s.records.find((r) => r.ack == null)
          if (open != null && now - open.statement.body.periodEnd > init.graceMs) {
            leases.delete(id)
            const secs = Math.round((now - open.statement.body.periodEnd) / 1000)
            components.closeLease(id, `usage statement ${open.statement.body.sequence} unanswered for ${secs} s (grace ${Math.round(init.graceMs / 1000)} s)`).catch(() => {})
            continue
          }
          issue(s, now)
        }
      },
      start () {
        const loop = (): void => { meter.tick(); timer = clock.schedule(init.intervalMs, loop) }
        timer = clock.schedule(init.intervalMs, loop)
      },
      stop () { timer?.cancel(); timer = undefined }
    }
    return meter
  }
}

export class UsageDisputeError extends Error {
  readonly code = 'ERR_USAGE_DISPUTED'
  constructor (message: string) { super(message); this.name = 'UsageDisputeError' }
}

export interface AuditedLease {
  leaseId: Uint8Array
  provider: Uint8Array
  rate: Price
  /** the last statement countersigned before a restart, when this auditor has none in memory */
  last?: { sequence: number, periodEnd: number, total: Price }
}

/**
 * The tenant's side: checks each statement (signer, rate, contiguous periods, arithmetic) and
 * countersigns it. A statement that does not add up is refused, never signed.
 */
export function usageAuditor (components: { signer: Signer, clock?: Clock, maxSkewMs?: number }): {
  handleStatement: (lease: AuditedLease, s: SignedMessage<UsageStatementBody>) => SignedMessage<UsageAckBody>
  history: (leaseIdHex: string) => Array<{ statement: SignedMessage<UsageStatementBody>, ack: SignedMessage<UsageAckBody> }>
} {
  const clock = components.clock ?? systemClock()
  const seen = new Map<string, Array<{ statement: SignedMessage<UsageStatementBody>, ack: SignedMessage<UsageAckBody> }>>()
  return {
    handleStatement (lease, s) {
      const b = s.body
      const id = toHex(lease.leaseId)
      if (toHex(b.lease) !== id) throw new UsageDisputeError('statement is for another lease')
      if (toHex(s.signer) !== toHex(lease.provider)) throw new UsageDisputeError('statement is not signed by the lease\'s provider')
      if (b.rate.denom !== lease.rate.denom || parseAmount(b.rate.amount) !== parseAmount(lease.rate.amount)) {
        throw new UsageDisputeError(`statement rate ${b.rate.amount} ${b.rate.denom} differs from the agreed ${lease.rate.amount} ${lease.rate.denom}`)
      }
      if (b.periodEnd > clock.now() + (components.maxSkewMs ?? 30_000)) throw new UsageDisputeError('statement period ends in the future')
      const past = seen.get(id) ?? []
      const prevMsg = past[past.length - 1]
      if (prevMsg != null && b.sequence === prevMsg.statement.body.sequence) return prevMsg.ack // a resend: answer again
      const prev = prevMsg != null ? { sequence: prevMsg.statement.body.sequence, periodEnd: prevMsg.statement.body.periodEnd, total: prevMsg.statement.body.total } : lease.last
      const expectedSeq = prev == null ? 0 : prev.sequence + 1
      if (b.sequence !== expectedSeq) throw new UsageDisputeError(`statement sequence ${b.sequence}, expected ${expectedSeq}`)
      if (prev != null && b.periodStart !== prev.periodEnd) throw new UsageDisputeError('statement period does not start where the last one ended')
      const expected = usageAmount(lease.rate, b.periodEnd - b.periodStart)
      if (parseAmount(b.amount.amount) !== parseAmount(expected.amount)) {
        throw new UsageDisputeError(`statement amount ${b.amount.amount} ${b.amount.denom} for ${b.periodEnd - b.periodStart} ms, expected ${expected.amount}`)
      }
      const prevTotal = prev == null ? 0n : parseAmount(prev.total.amount)
      if (parseAmount(b.total.amount) !== prevTotal + parseAmount(b.amount.amount)) throw new UsageDisputeError('statement total does not add up')
      const ack = signMessage<UsageAckBody>(components.signer, MessageTag.USAGE_ACK, { lease: b.lease, statement: s.id, sequence: b.sequence })
      past.push({ statement: s, ack })
      seen.set(id, past)
      return ack
    },
    history: (id) => [...(seen.get(id) ?? [])]
  }
}
