// A node that starts picks up what a stop or a crash cut: each unfinished deployment goes on
// from the state it was saved in, and what the committee decided meanwhile is asked of peers.
import { openMessage, MessageTag, MAX_MESSAGE_AGE_MS } from '../../wire/index.ts'
import type { OrderBody } from '../../wire/index.ts'
import { Topic } from '../../net/index.ts'
import { errorMessage } from '../../util/index.ts'
import { waitReady } from '../readiness.ts'
import { CATCH_UP_PEERS } from './constants.ts'
import { awaitLease, takeLease } from './await-lease.ts'
import { deliver, awaitRunning } from './deliver.ts'
import { sendClose } from './closing.ts'
import type { TenantContext } from './context.ts'
import type { Deployment, DeployOptions } from './index.ts'

/**
 * Leases and expiries decided while this node was away, from a few peers (the leases topic of
 * /souk/sync/1.0.0). They enter the lease book as if gossiped, checked the same way, and reach
 * the deployments waiting for them through its events.
 */
async function catchUp (ctx: TenantContext): Promise<void> {
  const peers = ctx.net.libp2p.getPeers().slice(0, CATCH_UP_PEERS)
  await Promise.all(peers.map(async (p) => {
    try {
      const r = await ctx.net.syncOrders(p, { topic: Topic.LEASES, signal: ctx.stopping })
      ctx.logger.debug({ peer: p.toString(), ...r }, 'outcomes synced')
    } catch (err) {
      ctx.logger.debug({ peer: p.toString(), err: errorMessage(err) }, 'outcome sync failed')
    }
  }))
}

/** picks up a deployment a stop or a crash cut, from the state it was saved in */
export async function resume (ctx: TenantContext, d: Deployment): Promise<void> {
  const signal = ctx.stopping
  const opts: DeployOptions = { signal }
  const quiet = (): void => {}
  if (d.close != null) { await sendClose(ctx, d, signal); return }
  if (d.state === 'ordering') {
    // an order already out: it counts among the open ones without waiting its turn
    const freeSlot = ctx.orderSlots.take()
    let lease: Awaited<ReturnType<typeof awaitLease>>
    try {
      const known = ctx.book.lease(d.order) ?? ctx.book.expiry(d.order)
      // killed before the order went out, or before enough peers had it: sent again while bids
      // can still come (a peer that has it already drops the copy)
      if (known == null && d.bidDeadline > Date.now()) {
        const order = openMessage<OrderBody>(d.orderBytes, { expect: MessageTag.ORDER })
        ctx.book.record(order)
        await ctx.net.gossip.publish(Topic.ORDERS, order).catch(() => {})
      }
      lease = await awaitLease(ctx, d, signal)
    } finally {
      freeSlot()
    }
    takeLease(ctx, d, lease)
    ctx.logger.info({ lease: d.order.slice(0, 12), provider: d.provider }, 'lease final for an order placed before the restart; sending its manifest')
  }
  if (d.state === 'leased') { await deliver(ctx, d, opts, quiet); return }
  if (d.state === 'deploying') await awaitRunning(ctx, d, opts, quiet)
}

/** the deployments a stop or a crash cut, each resumed in the background once the network is up (the node serves meanwhile) */
export function resumeUnfinished (ctx: TenantContext): void {
  const all = ctx.deployments.all()
  const unfinished = all.filter((d) => d.close != null || d.state === 'ordering' || d.state === 'leased' || d.state === 'deploying')
  // an order given up on shortly before the stop may have got its lease meanwhile (closeLate)
  const lately = all.some((d) => d.state === 'expired' && d.createdAt > Date.now() - MAX_MESSAGE_AGE_MS)
  if (unfinished.length === 0 && !lately) return
  // the network first, or there is nobody to tell
  const ready = waitReady({ roles: ['tenant'], peerId: ctx.net.peerId.toString(), gossip: ctx.net.gossip }, { signal: ctx.stopping, timeoutMs: ctx.init.decisionTimeoutMs }).catch(() => {})
  // what the committee decided while this node was away was gossiped to nobody here: asked of peers
  void ready.then(async () => { await catchUp(ctx) })
  for (const d of unfinished) {
    ctx.logger.info({ lease: d.order.slice(0, 12), state: d.state }, 'resuming a deployment cut by a restart')
    ctx.background('resumed deployment', d, ready.then(async () => { ctx.stopping.throwIfAborted(); await resume(ctx, d) }))
  }
}
