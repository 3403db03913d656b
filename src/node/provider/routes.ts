// The HTTP ingress: the hostnames of each lease's HTTP services, routed to its host ports, and
// the URLs a tenant sees for them.
import { ingress, planRoutes, leaseHostname } from '../../runtime/ingress/index.ts'
import type { Ingress, IngressInit, IngressRoute } from '../../runtime/ingress/index.ts'
import type { ContainerRuntime, DeployedLease, RuntimeNotice } from '../../runtime/index.ts'
import type { Manifest } from '../../sdl/index.ts'
import type { Store } from '../../store/index.ts'
import type { MetricsRegistry } from '../../api/index.ts'
import { errorMessage } from '../../util/index.ts'
import { records } from '../records.ts'
import type { Logger } from '../logger.ts'
import { RECORD_INGRESS } from './constants.ts'
import type { LifecycleEvent } from './lifecycle-events.ts'

/** the ingress to run, or why it is off (config/ingress.ts) */
export type IngressPlan = { init: IngressInit } | { off: string }

export interface LeaseRoutesComponents {
  runtime: ContainerRuntime
  store: Store
  logger: Logger
  metrics?: MetricsRegistry
  /** the manifest a lease runs now */
  manifestOf: (leaseId: string) => Manifest | undefined
}

export interface LeaseRoutes {
  /** the ingress, while it runs */
  ingress: () => Ingress | undefined
  /** a lease's routes, as the ingress holds them (to be saved with the lease) */
  routesOf: (leaseId: string) => IngressRoute[] | undefined
  /** after a restart: the hostnames a lease had stay its own (generated ones follow the configured domain) */
  restore: (leaseId: string, routes: IngressRoute[]) => void
  /** HTTP ports routed through the ingress are reported by hostname, ahead of the host ports */
  withIngress: (leaseId: string, deployed: DeployedLease) => DeployedLease
  onLifecycle: (evt: LifecycleEvent) => void
  start: () => Promise<void>
  stop: () => Promise<void>
}

export function leaseRoutes (plan: IngressPlan, components: LeaseRoutesComponents): LeaseRoutes {
  const { runtime, logger } = components
  if ('off' in plan) logger.info({ why: plan.off }, 'ingress off: HTTP services are reported on host ports')
  // a port picked at random is kept in the store and asked for again, so URLs survive a restart
  const state = records<{ port: number }>(components.store, RECORD_INGRESS)
  const preferPort = 'init' in plan && plan.init.port === 0 ? state.get('http')?.port : undefined
  let ing: Ingress | undefined = 'init' in plan ? ingress({ ...plan.init, preferPort })({ runtime, logger, metrics: components.metrics }) : undefined
  /** notices about a lease's hostnames (refused accept names), by lease */
  const notices = new Map<string, RuntimeNotice[]>()

  function apply (leaseId: string, routes: IngressRoute[], planned: RuntimeNotice[]): void {
    if (ing == null) return
    const { refused } = ing.routes.set(leaseId, routes)
    notices.set(leaseId, [...planned, ...refused.map((r) => ({ path: `services.${r.service}`, code: 'accept-hostnames', message: `${r.host} is not routed: ${r.reason}` }))])
    ing.invalidate(leaseId)
  }
  function route (leaseId: string): void {
    const manifest = components.manifestOf(leaseId)
    if (ing == null || manifest == null) return
    const p = planRoutes(manifest, leaseId, ing.domain)
    apply(leaseId, p.routes, p.notices)
  }

  return {
    ingress: () => ing,
    routesOf: (leaseId) => ing?.routes.routes(leaseId),
    restore (leaseId, routes) {
      if (ing == null) return
      const domain = ing.domain
      apply(leaseId, routes.map((r) => r.generated ? { ...r, host: leaseHostname(r.service, leaseId, domain) } : r), [])
    },
    withIngress (leaseId, deployed) {
      const i = ing
      if (i == null) return deployed
      const routes = i.routes.routes(leaseId)
      const extra = notices.get(leaseId) ?? []
      if (routes.length === 0 && extra.length === 0) return deployed
      const routed = new Set(routes.map((r) => r.service))
      return {
        ...deployed,
        services: deployed.services.map((s) => {
          const mine = routes.filter((r) => r.service === s.name)
          if (mine.length === 0) return s
          const urls = mine.map((r) => ({ port: r.port, as: s.urls.find((u) => u.port === r.port)?.as ?? 80, proto: 'tcp' as const, url: i.url(r.host), host: r.host, hostPort: i.tlsPort() ?? i.port() }))
          // the stable hostnames first; the host ports after them (they change on updates, but reach the service without DNS)
          return { ...s, urls: [...urls, ...s.urls] }
        }),
        // the runtime alone has no ingress and says so; here there is one
        notices: [...deployed.notices.filter((n) => !(n.code === 'accept-hostnames' || (n.code === 'port-remapped' && routed.has(n.path.split('.')[1] ?? '')))), ...extra]
      }
    },
    onLifecycle (evt) {
      switch (evt.type) {
        case 'lease:running': case 'lease:updated': route(evt.leaseId); break
        case 'lease:closed': ing?.routes.remove(evt.leaseId); notices.delete(evt.leaseId); break
      }
    },
    async start () {
      if (ing == null) return
      try {
        await ing.start()
        state.put('http', { port: ing.port() })
        logger.info({ port: ing.port(), tlsPort: ing.tlsPort(), domain: ing.domain }, 'ingress listening')
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'ingress off: HTTP services are reported on host ports')
        ing = undefined
      }
    },
    async stop () { await ing?.stop() }
  }
}
