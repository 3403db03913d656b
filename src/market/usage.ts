// Usage accounting: the provider states what each lease cost over each period (time × agreed
// price), signed; the tenant's node checks the arithmetic and countersigns; a provider closes a
// lease whose statements go unanswered past a grace period. Nothing here moves money.
import { signMessage, MessageTag, PRICE_PERIOD_MS, MAX_CLOCK_SKEW_MS, toHex } from '../wire/index.ts'
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

/** Which rule a refused statement broke (the refusal's `rule`; its message says how). */
export const UsageRule = {
  LEASE: 'lease',
  SIGNER: 'signer',
  RATE: 'rate',
  FUTURE: 'future',
  BEFORE_LEASE: 'before-lease',
  AFTER_CLOSE: 'after-close',
  SEQUENCE: 'sequence',
  CONTIGUOUS: 'contiguous',
  AMOUNT: 'amount',
  TOTAL: 'total'
} as const
export type UsageRule = typeof UsageRule[keyof typeof UsageRule]

/** A statement the tenant's node refuses to countersign: `rule` names the check, the message says why. */
export class UsageDisputeError extends Error {
  readonly code = 'ERR_USAGE_DISPUTED'
  readonly rule: UsageRule
  constructor (rule: UsageRule, message: string) { super(message); this.name = 'UsageDisputeError'; this.rule = rule }
}

export interface AuditedLease {
  leaseId: Uint8Array
  /** the provider's key as the lease certificate names it (never the statement's own signer) */
  provider: Uint8Array
  rate: Price
  /**
   * when the lease began for this tenant (it sent the manifest): the first statement may not
   * start before it, give or take the allowed clock skew
   */
  startedAt: number
  /** when the lease closed, as this tenant knows it: no statement may end after it (plus skew) */
  closedAt?: number
  /** the last statement countersigned before a restart, when this auditor has none in memory */
  last?: { sequence: number, periodEnd: number, total: Price }
}

const iso = (ms: number): string => {
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString()
}

/**
 * The tenant's side: checks each statement against the lease (the certificate's provider key,
 * the agreed rate, the lease's start and close, periods that follow each other, the arithmetic)
 * and countersigns it. A statement that does not add up is refused, never signed, and the
 * refusal names the rule and the numbers.
 */
export function usageAuditor (components: { signer: Signer, clock?: Clock, maxSkewMs?: number }): {
  handleStatement: (lease: AuditedLease, s: SignedMessage<UsageStatementBody>) => SignedMessage<UsageAckBody>
  /** the last statement countersigned per lease (what a resend is answered with) */
  last: (leaseIdHex: string) => { statement: SignedMessage<UsageStatementBody>, ack: SignedMessage<UsageAckBody> } | undefined
} {
  const clock = components.clock ?? systemClock()
  const skew = components.maxSkewMs ?? MAX_CLOCK_SKEW_MS
  // only the last countersigned statement per lease matters (the next must follow it)
  const lastOf = new Map<string, { statement: SignedMessage<UsageStatementBody>, ack: SignedMessage<UsageAckBody> }>()
  return {
    handleStatement (lease, s) {
      const b = s.body
      const id = toHex(lease.leaseId)
      const dispute = (rule: UsageRule, message: string): UsageDisputeError => new UsageDisputeError(rule, `statement ${b.sequence}: ${message}`)
      if (toHex(b.lease) !== id) throw dispute(UsageRule.LEASE, 'is for another lease')
      if (toHex(s.signer) !== toHex(lease.provider)) throw dispute(UsageRule.SIGNER, `is signed by ${toHex(s.signer).slice(0, 16)}…, not by the lease's provider ${toHex(lease.provider).slice(0, 16)}… (the key in the lease certificate)`)
      if (b.rate.denom !== lease.rate.denom || parseAmount(b.rate.amount) !== parseAmount(lease.rate.amount)) {
        throw dispute(UsageRule.RATE, `rate ${b.rate.amount} ${b.rate.denom} differs from the agreed ${lease.rate.amount} ${lease.rate.denom}`)
      }
      const now = clock.now()
      if (b.periodEnd > now + skew) throw dispute(UsageRule.FUTURE, `period ends at ${iso(b.periodEnd)}, in the future (now ${iso(now)})`)
      if (lease.closedAt != null && b.periodEnd > lease.closedAt + skew) {
        throw dispute(UsageRule.AFTER_CLOSE, `period ends at ${iso(b.periodEnd)}, after the lease closed at ${iso(lease.closedAt)}`)
      }
      const prevMsg = lastOf.get(id)
      if (prevMsg != null && b.sequence === prevMsg.statement.body.sequence) {
        // a resend of what was countersigned gets the same answer; another statement with that number does not
        if (s.idHex === prevMsg.statement.idHex) return prevMsg.ack
        throw dispute(UsageRule.SEQUENCE, 'a different statement with this sequence was already countersigned')
      }
      const prev = prevMsg != null ? { sequence: prevMsg.statement.body.sequence, periodEnd: prevMsg.statement.body.periodEnd, total: prevMsg.statement.body.total } : lease.last
      const expectedSeq = prev == null ? 0 : prev.sequence + 1
      if (b.sequence !== expectedSeq) throw dispute(UsageRule.SEQUENCE, `has sequence ${b.sequence}, expected ${expectedSeq}`)
      if (prev == null) {
        if (b.periodStart < lease.startedAt - skew) {
          throw dispute(UsageRule.BEFORE_LEASE, `period starts at ${iso(b.periodStart)}, before the lease started at ${iso(lease.startedAt)}`)
        }
      } else if (b.periodStart !== prev.periodEnd) {
        throw dispute(UsageRule.CONTIGUOUS, `period starts at ${iso(b.periodStart)}, not where statement ${prev.sequence} ended (${iso(prev.periodEnd)})`)
      }
      const expected = usageAmount(lease.rate, b.periodEnd - b.periodStart)
      if (parseAmount(b.amount.amount) !== parseAmount(expected.amount)) {
        throw dispute(UsageRule.AMOUNT, `amount ${b.amount.amount} ${b.amount.denom} for ${b.periodEnd - b.periodStart} ms, expected ${expected.amount}`)
      }
      const prevTotal = prev == null ? 0n : parseAmount(prev.total.amount)
      if (parseAmount(b.total.amount) !== prevTotal + parseAmount(b.amount.amount)) throw dispute(UsageRule.TOTAL, `total ${b.total.amount} is not the previous total ${formatAmount(prevTotal)} plus ${b.amount.amount}`)
      const ack = signMessage<UsageAckBody>(components.signer, MessageTag.USAGE_ACK, { lease: b.lease, statement: s.id, sequence: b.sequence })
      lastOf.set(id, { statement: s, ack })
      return ack
    },
    last: (id) => lastOf.get(id)
  }
}
