// The provider's usage statements for this tenant's leases: checked against the lease (its
// provider, its price, when it started and closed), countersigned, and kept on the deployment.
import { toHex } from '../../wire/index.ts'
import { usageAuditor, addAmounts } from '../../market/index.ts'
import { publicKeyOfPeerId } from '../../identity/index.ts'
import { NodeError, NodeErrorCode } from '../errors.ts'
import { handleUsage } from '../../net/index.ts'
import type { TenantContext } from './context.ts'
import type { UsageLine } from './index.ts'

/** answers usage statements; returns what unregisters the handler */
export async function auditUsage (ctx: TenantContext): Promise<() => Promise<void>> {
  const { book, deployments } = ctx
  const auditor = usageAuditor({ signer: ctx.identity })
  return await handleUsage(ctx.net, (from, s) => {
    const d = deployments.get(toHex(s.body.lease))
    if (d == null || d.provider == null || d.prices == null) throw new NodeError(NodeErrorCode.UNKNOWN_LEASE, 'no lease of this tenant with that ID')
    if (from.toString() !== d.provider) throw new NodeError(NodeErrorCode.NOT_LEASE_PROVIDER, 'only the lease\'s provider sends its usage')
    deployments.heard(d)
    // the provider's key as the lease certificate names it (d.provider was taken from it), never
    // the statement's own signer: a statement signed by anyone else is not the provider's bill
    const rec = book.lease(d.order)
    const providerKey = rec != null ? rec.certificate.provider : publicKeyOfPeerId(d.provider)
    if (providerKey == null) throw new NodeError(NodeErrorCode.UNKNOWN_LEASE, 'the lease\'s provider key is unknown')
    // a close this node did not make (the provider's, gossiped) counts from when it was seen
    if (d.closedAt == null && rec?.state === 'closed' && rec.closedAt != null) { d.closedAt = rec.closedAt; deployments.save(d) }
    const rate = { denom: d.prices[0].denom, amount: addAmounts(...d.prices.map((p) => p.amount)) }
    const lastLine = (d.usage ?? []).at(-1)
    const last = lastLine != null ? { sequence: lastLine.sequence, periodEnd: lastLine.periodEnd, total: lastLine.total } : undefined
    const ack = auditor.handleStatement({ leaseId: s.body.lease, provider: providerKey, rate, startedAt: d.startedAt ?? d.createdAt, closedAt: d.closedAt, last }, s)
    const line: UsageLine = { sequence: s.body.sequence, periodStart: s.body.periodStart, periodEnd: s.body.periodEnd, amount: s.body.amount, total: s.body.total, statement: s.idHex, ack: ack.idHex }
    d.usage = [...(d.usage ?? []).filter((u) => u.sequence !== line.sequence), line]
    deployments.save(d)
    return ack
  })
}
