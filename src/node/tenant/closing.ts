// Ending a lease from the tenant's side. The Close is signed and saved with the deployment
// before anything is sent, so a node killed while it is on its way sends it when it starts.
import { peerIdOfPublicKey } from '../../identity/index.ts'
import { signMessage, openMessage, MessageTag, MAX_MESSAGE_AGE_MS } from '../../wire/index.ts'
import type { CloseBody, CloseCode } from '../../wire/index.ts'
import { Topic } from '../../net/index.ts'
import { errorMessage } from '../../util/index.ts'
import { DeployError } from '../errors.ts'
import type { LeaseRecord } from '../lease-book.ts'
import { providerOf } from './deployments.ts'
import type { TenantContext } from './context.ts'
import type { Deployment } from './index.ts'

/** a Close of the deployment's lease, signed by this node */
function signClose (ctx: TenantContext, d: Deployment, reason: string, code?: CloseCode): Uint8Array {
  const close = signMessage<CloseBody>(ctx.identity, MessageTag.CLOSE, { lease: Buffer.from(d.order, 'hex'), reason, ...(code != null ? { code } : {}) })
  // from now on the provider may bill only up to this moment (give or take clock skew)
  d.closedAt ??= close.createdAt
  return close.bytes
}

/**
 * Sends the saved Close on gossip and straight to the provider, then forgets it. Sending it
 * twice does no harm: the committee and the provider take the first and ignore the rest.
 */
export async function sendClose (ctx: TenantContext, d: Deployment, signal: AbortSignal = ctx.stopping): Promise<void> {
  if (d.close == null) return
  const { net, book, logger, deployments } = ctx
  let close = openMessage<CloseBody>(d.close, { expect: MessageTag.CLOSE })
  // gossip refuses messages older than MAX_MESSAGE_AGE_MS: one saved long ago is signed again
  // (the billing end, closedAt, stays when it was first made)
  if (close.createdAt < Date.now() - MAX_MESSAGE_AGE_MS / 2) {
    close = signMessage<CloseBody>(ctx.identity, MessageTag.CLOSE, close.body)
    d.close = close.bytes
    deployments.save(d)
  }
  book.record(close)
  await net.gossip.publish(Topic.LEASES, close).catch(() => {})
  if (d.provider != null) {
    try {
      for await (const r of net.leaseRequest(providerOf(d), { type: 'close', lease: close.body.lease, close: close.bytes }, { signal })) {
        if (r.kind === 'error') throw new DeployError(r.code, r.reason)
      }
    } catch (err) {
      if (ctx.stopping.aborted) throw err
      // the gossiped Close still reaches the provider; say so rather than fail
      logger.warn({ err: errorMessage(err) }, 'direct close failed; the provider will see the gossiped close')
    }
  }
  // the reason saved with `closing` (the user's, or why a late lease was closed), else the Close's
  if (d.state === 'closing') deployments.markClosed(d, d.reason ?? close.body.reason)
  else { delete d.close; deployments.save(d) }
}

/** signs the Close and records the intent (`closing`) before anything is sent */
export function startClose (ctx: TenantContext, d: Deployment, reason: string): void {
  if (d.close == null) d.close = signClose(ctx, d, reason)
  d.state = 'closing'
  d.reason = openMessage<CloseBody>(d.close, { expect: MessageTag.CLOSE }).body.reason
  ctx.deployments.save(d)
}

/** a lease lost or failed (failover.ts): closed with its code, in the background */
export function closeWithCode (ctx: TenantContext, d: Deployment, reason: string, code: CloseCode): void {
  if (d.close == null) {
    d.close = signClose(ctx, d, reason.slice(0, 400), code)
    d.closeCode = code
  }
  d.state = 'closing'
  d.reason = reason
  ctx.deployments.save(d)
  ctx.background('close of a lost lease', d, sendClose(ctx, d))
}

/**
 * A lease that will not run: recorded as failed with the reason, and closed at its provider and
 * the committee so that nobody is billed for it.
 */
export function fail (ctx: TenantContext, d: Deployment, reason: string, code?: CloseCode): void {
  d.state = 'failed'
  d.reason = reason
  if (d.provider != null && d.close == null) {
    if (code != null) d.closeCode = code
    d.close = signClose(ctx, d, `the tenant gave up on the deployment: ${reason}`.slice(0, 400), code)
  }
  ctx.deployments.save(d)
  if (d.close != null) ctx.background('close of a failed deployment', d, sendClose(ctx, d))
}

/**
 * A lease certified after this node gave up on its order (its decision timeout ran out: the CLI
 * already said "no lease"). Nobody waits for it any more: it is closed at once, with a reason
 * that says so, so that its provider frees it and no one pays for it.
 */
export function closeLate (ctx: TenantContext, d: Deployment, lease: LeaseRecord): void {
  d.provider = peerIdOfPublicKey(Buffer.from(lease.provider, 'hex'))
  d.prices = ctx.book.bid(lease.bidId)?.body.prices ?? d.prices
  const reason = 'the lease was certified after the tenant had given up waiting for it'
  d.close = signClose(ctx, d, reason)
  d.reason = `${reason} (${d.reason ?? 'expired'}); closed at once so that nobody pays for it`
  d.state = 'closing'
  ctx.deployments.save(d)
  ctx.background('close of a late lease', d, sendClose(ctx, d))
}
