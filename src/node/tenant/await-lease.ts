// From a published order to its lease: the committee's certified lease, or its expiry (with what
// the providers said about the order), or silence past the decision timeout.
import { peerIdFromString } from '@libp2p/peer-id'
import { peerIdOfPublicKey } from '../../identity/index.ts'
import { DeployError, DeployErrorCode } from '../errors.ts'
import { askExplain } from '../../net/index.ts'
import type { ExplainAnswer } from '../../net/index.ts'
import type { LeaseRecord } from '../lease-book.ts'
import type { TenantContext } from './context.ts'
import type { Deployment } from './index.ts'

const seconds = (ms: number): string => ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`

/** the peers this node is connected to, and the providers the DHT names */
export async function providerCandidates (ctx: TenantContext): Promise<Set<string>> {
  const peers = new Set<string>()
  for (const p of ctx.net.libp2p.getPeers()) peers.add(p.toString())
  try {
    for (const r of await ctx.net.findRole('provider', { signal: AbortSignal.timeout(3_000), limit: 20 })) peers.add(r.id.toString())
  } catch {}
  return peers
}

async function explainDeclines (ctx: TenantContext, orderId: Uint8Array, signal?: AbortSignal): Promise<ExplainAnswer[]> {
  const peers = await providerCandidates(ctx)
  const answers = await Promise.all([...peers].map(async (p) => await askExplain(ctx.net, peerIdFromString(p), orderId, signal).catch(() => null)))
  return answers.filter((a): a is ExplainAnswer => a?.decision != null)
}

/**
 * Waits for the order's lease or its expiry, until the decision is overdue (bidWindow +
 * decisionTimeoutMs). An expiry, or silence, is recorded on the deployment and thrown.
 */
export async function awaitLease (ctx: TenantContext, d: Deployment, signal?: AbortSignal): Promise<LeaseRecord> {
  const { init, deployments } = ctx
  // the committee decides soon after the deadline; silence means no validator is reachable
  // or they are overloaded, and the user should hear that rather than wait forever
  const waitMs = Math.max(0, d.bidDeadline - Date.now()) + init.decisionTimeoutMs
  const timeout = AbortSignal.timeout(waitMs)
  let outcome
  try {
    outcome = await ctx.book.outcome(d.order, { signal: signal != null ? AbortSignal.any([signal, timeout]) : timeout })
  } catch (err) {
    if (signal?.aborted === true && !ctx.stopping.aborted) {
      // the user's deploy was cancelled: nobody wants the lease now (one that comes is closed, closeLate)
      d.state = 'expired'
      d.reason = 'the deploy was cancelled before the committee decided on the order'
      deployments.save(d)
    }
    if (signal?.aborted === true || !timeout.aborted) throw err
    d.state = 'expired'
    d.reason = `the committee did not decide on the order within ${seconds(init.decisionTimeoutMs)} of its bid deadline`
    deployments.save(d)
    throw new DeployError(DeployErrorCode.TIMEOUT, `no lease: ${d.reason}; no validator may be reachable (souk node status shows the peers), or they are overloaded (souk committee status on a validator)`)
  }
  if (outcome.kind === 'expired') {
    d.state = 'expired'
    const declines = await explainDeclines(ctx, Buffer.from(d.order, 'hex'), signal)
    const why = declines.flatMap((a) => (a.decision?.reasons ?? []).map((r) => `${a.provider.slice(-8)}: ${r.message}`))
    d.reason = `${outcome.expiry.reason}${why.length > 0 ? `; providers said: ${why.join('; ')}` : ''}`
    deployments.save(d)
    throw new DeployError(DeployErrorCode.NO_LEASE, `no lease: ${d.reason}`, { declines })
  }
  return outcome.lease
}

/** the committee's lease, as this deployment's */
export function takeLease (ctx: TenantContext, d: Deployment, lease: LeaseRecord): void {
  d.provider = peerIdOfPublicKey(Buffer.from(lease.provider, 'hex'))
  d.prices = ctx.book.bid(lease.bidId)?.body.prices ?? d.prices
  d.state = 'leased'
  ctx.deployments.save(d)
}
