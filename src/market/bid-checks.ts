// The first steps of a decision, cheapest first: the order's deadline, then what no price can
// fix (required attributes and auditors, free capacity). Each names every failure it finds, so a
// tenant hears all the reasons at once.
import type { OrderBody } from '../wire/index.ts'
import { auditorName } from './attestation.ts'
import { ReasonCode } from './constants.ts'
import type { Reason } from './decisions.ts'
import type { ReservationDemand, ReservationProvider } from './reservations.ts'
import type { Terms } from './bid-terms.ts'
import { errorMessage } from '../util/index.ts'

export function deadlinePassed (body: OrderBody, now: number): Reason {
  return { code: ReasonCode.DEADLINE_PASSED, message: `bid deadline passed ${now - body.bidDeadline} ms ago` }
}

/** 1. time: the deadline has not passed and is not further away than this provider bids */
export function checkDeadline (body: OrderBody, now: number, maxBidWindowMs: number): Reason | undefined {
  if (now >= body.bidDeadline) return deadlinePassed(body, now)
  if (body.bidDeadline - now > maxBidWindowMs) {
    return { code: ReasonCode.DEADLINE_TOO_FAR, message: `bid deadline is ${body.bidDeadline - now} ms away; this provider bids on orders closing within ${maxBidWindowMs} ms` }
  }
  return undefined
}

/** 2. attributes and auditors, every group, every failure */
export function checkGroups (t: Terms, body: OrderBody): Reason[] {
  const reasons: Reason[] = []
  for (const g of body.groups) {
    for (const [k, v] of Object.entries(g.attributes)) {
      const have = t.attributes[k]
      if (have === v) continue
      reasons.push({
        code: ReasonCode.MISSING_ATTRIBUTE,
        group: g.name,
        message: `${k}=${v} required by group ${g.name}, provider has ${have === undefined ? `no ${k}` : `${k}=${have}`}`
      })
    }
    for (const a of g.signedBy.allOf) {
      if (t.auditors.has(auditorName(a))) continue
      reasons.push({ code: ReasonCode.MISSING_AUDITOR, group: g.name, message: `group ${g.name} requires an attestation by ${a}; provider holds ${describeAuditors(t.auditorList)}` })
    }
    if (g.signedBy.anyOf.length > 0 && !g.signedBy.anyOf.some((a) => t.auditors.has(auditorName(a)))) {
      reasons.push({ code: ReasonCode.MISSING_AUDITOR, group: g.name, message: `group ${g.name} requires an attestation by one of ${g.signedBy.anyOf.join(', ')}; provider holds ${describeAuditors(t.auditorList)}` })
    }
  }
  return reasons
}

/** 3. capacity, without holding it yet */
export async function checkCapacity (reservations: ReservationProvider, demand: ReservationDemand): Promise<Reason[]> {
  if (reservations.check == null) return []
  try {
    return await reservations.check(demand)
  } catch (err) {
    return [{ code: ReasonCode.RESERVATION_FAILED, message: `capacity check failed: ${errorMessage(err)}` }]
  }
}

function describeAuditors (list: string[]): string {
  return list.length === 0 ? 'no attestations' : `attestations by ${list.join(', ')}`
}
