// The tenant role composed: its deployments, the deploy flow, the requests to a lease's provider,
// closes, usage, resume on start, and failover (failover.ts) around deploy, status and events.
import { akashAuditorMap } from '../../config/tenant.ts'
import { errorMessage } from '../../util/index.ts'
import { NodeError, NodeErrorCode, DeployError, DeployErrorCode } from '../errors.ts'
import { openExec } from '../../net/index.ts'
import { failover } from '../failover.ts'
import type { LeaseRecord } from '../lease-book.ts'
import { CLOSE_SEND_TIMEOUT_MS } from './constants.ts'
import { Deployments, closedServices, viewOf, providerOf } from './deployments.ts'
import { ask, probeStatus, readStatus } from './provider-link.ts'
import { startClose, sendClose, closeLate, closeWithCode } from './closing.ts'
import { deploy, dryRun, configAccept } from './deploy.ts'
import { update } from './update.ts'
import { auditUsage } from './usage.ts'
import { resume, resumeUnfinished } from './resume.ts'
import type { TenantContext } from './context.ts'
import type { CloseProgressEvent, Deployment, TenantRole, TenantRoleInit, TenantRoleComponents } from './index.ts'
import { OrderSlots } from './order-slots.ts'

export function createTenantRole (init: TenantRoleInit, components: TenantRoleComponents): TenantRole {
  const { book, logger } = components
  const deployments = new Deployments(components.store)
  const stopping = new AbortController()
  const resuming = new Set<Promise<void>>()
  const ctx: TenantContext = {
    init,
    identity: components.identity,
    net: components.net,
    book,
    logger,
    deployments,
    orderSlots: new OrderSlots(),
    stopping: stopping.signal,
    background: (what, d, p) => {
      const q = p.then(() => {}, (err: unknown) => {
        if (stopping.signal.aborted) return
        logger.warn({ lease: d.order.slice(0, 12), state: d.state, err: errorMessage(err) }, what)
      })
      resuming.add(q)
      void q.finally(() => resuming.delete(q))
    }
  }
  const auditors = akashAuditorMap(init)
  const flow = { auditors, resume: async (d: Deployment) => { await resume(ctx, d) } }
  const undo: Array<() => void> = []
  let stopUsage: (() => Promise<void>) | undefined

  const role: TenantRole = {
    deploy: async (sdl, opts) => await deploy(ctx, flow, sdl, opts),
    dryRun: async (sdl, opts) => await dryRun(ctx, auditors, sdl, opts),
    list: () => deployments.all().map((d) => d.state === 'closed' && d.services?.some((x) => x.urls.length > 0) ? { ...d, services: closedServices(d.services) } : d),
    get: (order) => { try { return deployments.find(order) } catch { return undefined } },
    usage: (order) => deployments.find(order).usage ?? [],

    async status (order, opts = {}) {
      const d = deployments.find(order)
      if (d.state === 'closed') return { deployment: viewOf(d) }
      for await (const r of ask(ctx, d, { type: 'status', lease: Buffer.from(d.order, 'hex') }, opts.signal)) {
        if (r.kind === 'status') {
          const services = readStatus(r.status)?.services ?? []
          if (services.length > 0) { d.services = services; deployments.save(d) }
          return { deployment: viewOf(d), provider: r.status }
        }
        if (r.kind === 'error') throw new DeployError(r.code, r.reason)
      }
      throw new DeployError(DeployErrorCode.PROVIDER_UNREACHABLE, 'provider sent no status')
    },

    async * logs (order, opts = {}) {
      const d = deployments.find(order)
      for await (const r of ask(ctx, d, { type: 'logs', lease: Buffer.from(d.order, 'hex'), follow: opts.follow, tail: opts.tail, service: opts.service }, opts.signal)) {
        if (r.kind === 'log') yield r.log
        else if (r.kind === 'error') throw new DeployError(r.code, r.reason)
      }
    },

    async * events (order, opts = {}) {
      const d = deployments.find(order)
      for await (const r of ask(ctx, d, { type: 'events', lease: Buffer.from(d.order, 'hex'), follow: opts.follow }, opts.signal)) {
        if (r.kind === 'event') yield r.event
        else if (r.kind === 'error') throw new DeployError(r.code, r.reason)
      }
    },

    update: async (order, sdl, opts) => await update(ctx, order, sdl, opts),

    async exec (order, opts) {
      const d = deployments.find(order)
      const service = opts.service ?? d.services?.[0]?.name
      if (service == null) throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `lease ${d.order.slice(0, 12)} has no running service`)
      return await openExec(ctx.net, providerOf(d), { lease: Buffer.from(d.order, 'hex'), service, command: opts.command, tty: opts.tty === true }, opts.signal)
    },

    async close (order, reason = '', opts = {}) {
      const emit = (e: CloseProgressEvent): void => { try { opts.onProgress?.(e) } catch {} }
      const d = deployments.find(order)
      if (d.state === 'closed') return d
      startClose(ctx, d, reason)
      emit({ type: 'close:signed', detail: { order: d.order, closedAt: d.closedAt ?? Date.now() } })
      await sendClose(ctx, d, AbortSignal.any([stopping.signal, AbortSignal.timeout(CLOSE_SEND_TIMEOUT_MS)]))
      emit({ type: 'close:sent', detail: { order: d.order, provider: d.provider } })
      return d
    },

    onFailover: (fn) => fo.onFailover(fn),

    async start () {
      // a close this node did not send (the provider's, or one sent from another node with this key);
      // one of its own still being sent finishes on its own
      undo.push(book.on('closed', (rec: LeaseRecord) => {
        const d = deployments.get(rec.orderId)
        if (d == null || d.state === 'closed' || d.close != null) return
        d.closedAt ??= rec.closedAt ?? Date.now()
        deployments.markClosed(d, `closed by the ${rec.closedBy ?? 'provider'}${rec.closeReason != null && rec.closeReason !== '' ? `: ${rec.closeReason}` : ''}`)
      }))
      stopUsage = await auditUsage(ctx)
      undo.push(book.on('lease', (rec: LeaseRecord) => {
        const d = deployments.get(rec.orderId)
        if (d?.state === 'expired') closeLate(ctx, d, rec)
      }))
      resumeUnfinished(ctx)
      fo.start()
    },

    async stop () {
      await fo.stop()
      for (const u of undo.splice(0)) u()
      stopping.abort(new NodeError(NodeErrorCode.STOPPED, 'the node is stopping'))
      await Promise.all([...resuming])
      await stopUsage?.()
    }
  }

  // failover (failover.ts) wraps deploy, status and events: a deployment is followed across providers
  const plain = { deploy: role.deploy, status: role.status, events: role.events }
  const fo = failover({
    logger,
    defaults: { ...init.failover },
    accept: () => configAccept(ctx),
    get: (order) => deployments.get(order),
    find: (order) => deployments.find(order),
    all: () => deployments.all(),
    save: (d) => { deployments.save(d) },
    deploy: plain.deploy,
    close: (d, reason, code) => { closeWithCode(ctx, d, reason, code) },
    probe: async (d, signal) => await probeStatus(ctx, d, signal) != null,
    status: plain.status,
    events: plain.events,
    stopping: stopping.signal
  })
  role.deploy = fo.deploy
  role.status = fo.status
  role.events = fo.events
  return role
}
