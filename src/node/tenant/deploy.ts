// deploy(): from a deployment file to running services, and dryRun(): what every provider found
// would do with it, publishing nothing.
import { peerIdFromString } from '@libp2p/peer-id'
import { signMessage, MessageTag, toHex, DEFAULT_ACCEPT } from '../../wire/index.ts'
import type { SignedMessage, OrderBody, BidBody, WireAccept } from '../../wire/index.ts'
import { Topic } from '../../net/index.ts'
import { buildOrder } from '../../market/index.ts'
import { loadSdl, canonicalManifestBytes, formatTotals } from '../../sdl/index.ts'
import type { LoadedSdl } from '../../sdl/index.ts'
import { peerIdOfPublicKey, publicKeyOfPeerId } from '../../identity/index.ts'
import { errorCode, errorMessage } from '../../util/index.ts'
import { DeployError, DeployErrorCode } from '../errors.ts'
import { askExplain } from '../../net/index.ts'
import { waitReady } from '../readiness.ts'
import { CLOSE_SEND_TIMEOUT_MS } from './constants.ts'
import { mapAkashAuditors } from './akash.ts'
import { awaitLease, takeLease, providerCandidates } from './await-lease.ts'
import { deliver } from './deliver.ts'
import { startClose, sendClose } from './closing.ts'
import type { TenantContext } from './context.ts'
import type { Deployment, DeployOptions, DeployProgressEvent, DryRunAnswer, DryRunResult } from './index.ts'

/** tenant.accept from souk.yaml, on the order only when it is not the default (older nodes refuse the field) */
export function configAccept (ctx: TenantContext): WireAccept | undefined {
  const a = ctx.init.accept
  if (a.maxFailurePermille === DEFAULT_ACCEPT.maxFailurePermille && a.minServed === DEFAULT_ACCEPT.minServed && a.allow.length === 0 && a.deny.length === 0) return undefined
  const key = (p: string): Uint8Array => {
    if (/^[0-9a-f]{64}$/i.test(p)) return new Uint8Array(Buffer.from(p, 'hex'))
    // the configuration was checked: every entry is a key or a peer ID
    const k = publicKeyOfPeerId(p)
    if (k == null) throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `tenant.accept names ${p}, neither a key nor a peer ID`)
    return k
  }
  return { maxFailurePermille: a.maxFailurePermille, minServed: a.minServed, allow: a.allow.map(key), deny: a.deny.map(key) }
}

export interface DeployFlow {
  /** picks up a deployment from where it was saved (resume.ts) */
  resume: (d: Deployment) => Promise<void>
  auditors: Map<string, string>
}

export async function deploy (ctx: TenantContext, flow: DeployFlow, sdl: string | LoadedSdl, opts: DeployOptions = {}): Promise<Deployment> {
  const { identity, net, book, logger, deployments, init } = ctx
  const emit = (e: DeployProgressEvent): void => { try { opts.onProgress?.(e) } catch {} }
  const loaded = mapAkashAuditors(typeof sdl === 'string' ? loadSdl(sdl) : sdl, flow.auditors)
  emit({ type: 'deploy:validated', detail: { totals: formatTotals(loaded.totals), groups: loaded.groups.length, notices: loaded.notices.length, noticeList: loaded.notices.map((n) => ({ path: n.path, message: n.message })) } })
  // an order published before any peer listens is lost: wait (bounded) for a subscriber, and publish nothing once aborted
  opts.signal?.throwIfAborted()
  try {
    await waitReady({ roles: ['tenant'], peerId: net.peerId.toString(), gossip: net.gossip }, { signal: opts.signal, timeoutMs: init.decisionTimeoutMs })
  } catch (err) {
    if (errorCode(err) !== 'ERR_NOT_READY') throw err
    throw new DeployError(DeployErrorCode.NO_PEERS, `no peer listened for orders within ${init.decisionTimeoutMs} ms, so nothing was published; check network.bootstrap and run souk node status`)
  }
  // at most as many open orders as providers hold of one tenant; the rest wait their turn, and
  // the bid window starts when the order goes out
  const freeSlot = await ctx.orderSlots.acquire(opts.signal, (open, queued) => {
    emit({ type: 'deploy:queued', detail: { open, max: ctx.orderSlots.max, queued } })
  })
  let body: OrderBody
  let order: SignedMessage<OrderBody>
  try {
    body = buildOrder(loaded, { bidWindowMs: opts.bidWindowMs ?? init.bidWindowMs, now: Date.now(), accept: opts.accept ?? configAccept(ctx) })
    order = signMessage<OrderBody>(identity, MessageTag.ORDER, body)
  } catch (err) {
    freeSlot()
    throw err
  }
  const d: Deployment = {
    order: order.idHex, state: 'ordering', createdAt: Date.now(), bidDeadline: body.bidDeadline,
    totals: formatTotals(loaded.totals), orderBytes: order.bytes, manifest: canonicalManifestBytes(loaded.manifest), bids: 0
  }
  deployments.save(d)
  const stopBids = book.on('bid', (b: SignedMessage<BidBody>) => {
    if (toHex(b.body.order) !== d.order) return
    d.bids = (d.bids ?? 0) + 1
    emit({ type: 'deploy:bid', detail: { bids: d.bids, provider: peerIdOfPublicKey(b.signer), prices: b.body.prices } })
  })
  try {
    let lease: Awaited<ReturnType<typeof awaitLease>>
    try {
      book.record(order)
      const { recipients } = await net.gossip.publish(Topic.ORDERS, order)
      if (recipients === 0) logger.warn('order published, but no peer is subscribed yet')
      emit({ type: 'deploy:order-published', detail: { order: d.order, bidDeadline: d.bidDeadline } })
      lease = await awaitLease(ctx, d, opts.signal)
    } finally {
      // the order is decided (or given up on): no longer open in the providers' books
      freeSlot()
    }
    takeLease(ctx, d, lease)
    const provider = d.provider ?? ''
    emit({ type: 'deploy:lease-final', detail: { provider, prices: d.prices ?? [], height: lease.certificate.height, bids: d.bids ?? 0 } })
    try {
      return await deliver(ctx, d, opts, emit)
    } catch (err) {
      if (opts.signal?.aborted !== true || ctx.stopping.aborted) throw err
      if (d.state === 'leased' || d.state === 'deploying' || d.state === 'running') {
        if (opts.onAbort === 'keep') {
          // the caller asked to keep it: it goes on without them, exactly as after a restart
          emit({ type: 'deploy:kept', detail: { order: d.order, provider, state: d.state } })
          logger.info({ order: d.order, provider }, 'deploy aborted after its lease was final; the deployment is kept')
          ctx.background('deployment its deploy stopped waiting for', d, flow.resume(d))
        } else {
          // nobody waits for it any more: close it, so nothing runs or is billed for nobody
          const reason = 'the deploy was aborted after its lease was final'
          startClose(ctx, d, reason)
          emit({ type: 'deploy:closing', detail: { order: d.order, provider, reason } })
          ctx.background('close of an aborted deploy', d, sendClose(ctx, d, AbortSignal.any([ctx.stopping, AbortSignal.timeout(CLOSE_SEND_TIMEOUT_MS)])))
        }
      }
      // whatever was under way when it came, the caller sees the abort's own reason
      throw opts.signal.reason
    }
  } finally {
    stopBids()
  }
}

export async function dryRun (ctx: TenantContext, auditors: Map<string, string>, sdl: string | LoadedSdl, opts: { signal?: AbortSignal, bidWindowMs?: number } = {}): Promise<DryRunResult> {
  const { net } = ctx
  const loaded = mapAkashAuditors(typeof sdl === 'string' ? loadSdl(sdl) : sdl, auditors)
  const body = buildOrder(loaded, { bidWindowMs: opts.bidWindowMs ?? ctx.init.bidWindowMs, now: Date.now() })
  // signed so a provider can tell it comes from its tenant; never published, so nobody can bid on it
  const order = signMessage<OrderBody>(ctx.identity, MessageTag.ORDER, body)
  const peers = await providerCandidates(ctx)
  const answers: DryRunAnswer[] = []
  await Promise.all([...peers].map(async (p) => {
    const peer = peerIdFromString(p)
    // only peers that speak the explain protocol are providers; validators and tenants are left out
    let protocols: string[] = []
    try { protocols = (await net.libp2p.peerStore.get(peer)).protocols } catch {}
    const isProvider = protocols.some((x) => x.startsWith('/souk/explain/'))
    if (!isProvider && protocols.length > 0) return
    try {
      // one retry: a connection being set up (identify running) may refuse the first stream
      const a = await askExplain(net, peer, order.id, opts.signal, { dryRun: order.bytes })
        .catch(async () => await new Promise((resolve) => setTimeout(resolve, 250)).then(async () => await askExplain(net, peer, order.id, opts.signal, { dryRun: order.bytes })))
      if (a.decision == null) { answers.push({ provider: p, outcome: 'no-answer', reasons: [{ code: 'ERR_NO_DECISION', message: 'the provider gave no answer for this order' }] }); return }
      answers.push({ provider: p, outcome: a.decision.outcome === 'bid' ? 'bid' : 'declined', prices: a.decision.prices, reasons: a.decision.reasons })
    } catch (err) {
      if (!isProvider) return
      const old = protocols.includes('/souk/explain/1.0.0') && !protocols.includes('/souk/explain/2.0.0')
      answers.push({ provider: p, outcome: 'no-answer', reasons: [{ code: old ? 'ERR_NO_DRY_RUN' : DeployErrorCode.PROVIDER_UNREACHABLE, message: old ? 'this provider runs a souk without dry runs' : `could not ask it: ${errorMessage(err)}` }] })
    }
  }))
  const rank = { bid: 0, declined: 1, 'no-answer': 2 }
  answers.sort((a, b) => rank[a.outcome] - rank[b.outcome] || a.provider.localeCompare(b.provider))
  return { totals: formatTotals(loaded.totals), notices: loaded.notices.map((n) => ({ path: n.path, message: n.message })), answers }
}
