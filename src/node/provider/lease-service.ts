// What a lease's tenant reaches this provider for, each on its stream protocol: the manifest
// (and updates), status, logs, events and close (the lease stream), exec, and explain (why an
// order got no bid, or what an unpublished one would get).
import type { PeerId } from '@libp2p/interface'
import { openMessage, MessageTag, toHex, WireError } from '../../wire/index.ts'
import type { OrderBody, ManifestUpdateBody } from '../../wire/index.ts'
import { accept, refuse, peerIsKey } from '../../net/index.ts'
import type { SoukNode, LeaseService } from '../../net/index.ts'
import { LeaseRefusedError } from '../../market/index.ts'
import type { BidEngine, LeaseHistory, ProviderLeases } from '../../market/index.ts'
import type { ContainerRuntime } from '../../runtime/index.ts'
import type { MetricsRegistry } from '../../api/index.ts'
import { errorMessage } from '../../util/index.ts'
import { handleExplain } from '../../net/index.ts'
import { handleExec } from '../../net/index.ts'
import type { LeaseBook } from '../lease-book.ts'
import type { LeaseRoutes } from './routes.ts'

export interface TenantServiceComponents {
  net: SoukNode
  book: LeaseBook
  leases: ProviderLeases
  engine: BidEngine
  runtime: ContainerRuntime
  history: LeaseHistory
  routes: LeaseRoutes
  metrics?: MetricsRegistry
  /** closes a lease; resolves once the close is stored */
  close: (leaseId: string, reason: string) => Promise<void>
}

/** registers the handlers; returns what unregisters each */
export async function serveTenants (c: TenantServiceComponents): Promise<Array<() => Promise<void>>> {
  const { net, leases, runtime, history, engine, book } = c
  const runtimeErrors = c.metrics?.counter('souk_runtime_errors_total', 'container runtime calls that failed, by operation')

  const authorizeTenant = (remote: PeerId, lease: Uint8Array): ReturnType<typeof accept> => {
    const l = leases.get(toHex(lease))
    if (l == null) return refuse('ERR_UNKNOWN_LEASE', 'no lease with that ID at this provider')
    if (!peerIsKey(remote, l.order.signer)) return refuse('ERR_NOT_LEASE_TENANT', 'only the lease\'s tenant may do that')
    return accept()
  }

  const service: LeaseService = {
    authorize: (remote, req) => authorizeTenant(remote, req.lease),
    status: async (lease) => {
      const l = leases.get(toHex(lease))
      // authorize let the request through, so the lease was held a moment ago
      if (l == null) return { state: 'closed' }
      const base = { state: l.state, sequence: l.sequence, closeReason: l.closeReason, error: l.error, lastUpdate: l.lastUpdate }
      if (l.state !== 'running') return base
      try {
        return { ...base, deployed: c.routes.withIngress(l.leaseId, await runtime.status(l.leaseId)), recent: history.list(l.leaseId).slice(-5) }
      } catch (err) {
        runtimeErrors?.inc({ op: 'status' })
        // transient (the engine restarting, say): not a failed deployment
        return { ...base, statusError: errorMessage(err) }
      }
    },
    logs: (lease, o) => (async function * () {
      for await (const line of runtime.logs(toHex(lease), { follow: o.follow, tail: o.tail, service: o.service, signal: o.signal })) yield line
    })(),
    // the lease's history from the start; with follow, then each new entry as it is recorded
    events: (lease, o) => (async function * () {
      const id = toHex(lease)
      const entries = o.follow ? history.follow(id, { signal: o.signal }) : history.list(id)
      for await (const e of entries) yield { type: e.type, time: e.time, service: e.service, replica: e.replica, message: e.message?.slice(0, 512) }
    })(),
    close: async (lease, close) => {
      await c.close(toHex(lease), close.body.reason === '' ? 'closed by the tenant' : `closed by the tenant: ${close.body.reason}`)
    }
  }

  return [
    await net.handleManifest({
      onManifest: (remote, frame) => {
        try {
          if (frame.update != null) leases.acceptUpdate(remote.toString(), openMessage<ManifestUpdateBody>(frame.update, { expect: MessageTag.MANIFEST_UPDATE }))
          leases.accept(remote.toString(), frame).done.catch(() => runtimeErrors?.inc({ op: frame.sequence === 0 ? 'deploy' : 'update' }))
          return accept()
        } catch (err) {
          if (err instanceof LeaseRefusedError || err instanceof WireError) return refuse(err.code, err.message)
          return refuse('ERR_INTERNAL', errorMessage(err))
        }
      }
    }),
    await net.handleLease({ service }),
    await handleExec(net, async (remote, req) => {
      const d = authorizeTenant(remote, req.lease)
      if (!d.ok) throw Object.assign(new Error(d.reason), { code: d.code })
      return await runtime.exec(toHex(req.lease), { service: req.service, command: req.command, tty: req.tty })
    }, { isClosed: (id) => leases.get(id)?.state === 'closed' || leases.get(id)?.state === 'closing' || book.lease(id)?.state === 'closed' }),
    await handleExplain(net, {
      lookup: async (orderId, remote) => {
        const order = book.order(orderId)
        if (order == null || !peerIsKey(remote, order.signer)) return undefined
        return await engine.explain(orderId)
      },
      // an order its tenant has not published: what this provider would do, holding and sending nothing
      dryRun: async (envelope, remote, signal) => {
        const order = openMessage<OrderBody>(envelope, { expect: MessageTag.ORDER })
        if (!peerIsKey(remote, order.signer)) return undefined
        return await engine.evaluate(order, { signal })
      }
    })
  ]
}
