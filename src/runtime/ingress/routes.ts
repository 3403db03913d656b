// Which lease answers for which hostname. A hostname belongs to one lease at a time: the first
// lease to claim an `accept` name keeps it until it closes; a later claim is refused and reported.
import { wildcardOf } from './hostnames.ts'

export interface IngressRoute {
  /** lowercase DNS name; `*.example.com` for a wildcard */
  host: string
  leaseId: string
  service: string
  /** the container port the service listens on */
  port: number
  /** a hostname the provider generated (not one of the deployment's `accept` names) */
  generated: boolean
}

export interface RefusedRoute { host: string, service: string, reason: string }

export interface RouteTable {
  /** replaces the lease's routes; names another lease holds are refused */
  set: (leaseId: string, routes: IngressRoute[]) => { refused: RefusedRoute[] }
  remove: (leaseId: string) => void
  /** exact name first, then a wildcard one level up */
  lookup: (host: string) => IngressRoute | undefined
  routes: (leaseId: string) => IngressRoute[]
  leases: () => string[]
}

export function routeTable (): RouteTable {
  const byHost = new Map<string, IngressRoute>()
  const byLease = new Map<string, IngressRoute[]>()
  const api: RouteTable = {
    set (leaseId, routes) {
      api.remove(leaseId)
      const kept: IngressRoute[] = []
      const refused: RefusedRoute[] = []
      for (const r of routes) {
        const other = byHost.get(r.host)
        if (other != null) {
          refused.push({ host: r.host, service: r.service, reason: other.leaseId === leaseId ? `named twice (services ${other.service} and ${r.service})` : 'another lease on this provider serves it' })
          continue
        }
        byHost.set(r.host, r)
        kept.push(r)
      }
      if (kept.length > 0) byLease.set(leaseId, kept)
      return { refused }
    },
    remove (leaseId) {
      for (const r of byLease.get(leaseId) ?? []) if (byHost.get(r.host)?.leaseId === leaseId) byHost.delete(r.host)
      byLease.delete(leaseId)
    },
    lookup (host) {
      const exact = byHost.get(host)
      if (exact != null) return exact
      const w = wildcardOf(host)
      return w != null ? byHost.get(w) : undefined
    },
    routes: (leaseId) => [...(byLease.get(leaseId) ?? [])],
    leases: () => [...byLease.keys()]
  }
  return api
}
