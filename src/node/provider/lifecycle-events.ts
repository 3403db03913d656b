// The lease machinery (market/provider-leases.ts) and the runtime report each step as a progress
// event with a type string and an untyped detail. They are read here, once, into typed events;
// everything the provider does in reaction (history, routes, metering, engine watches) listens
// to these, never to the strings.
import type { DeployedLease } from '../../runtime/index.ts'
import type { Manifest } from '../../sdl/index.ts'

/** one service of a running lease, as the lifecycle reports it */
export interface ServiceCount { name: string, ready: number, count: number }

/** one step of a lease held by this provider */
export type LifecycleEvent =
  | { type: 'lease:won', leaseId: string }
  | { type: 'manifest:accepted', leaseId: string, manifest?: Manifest }
  | { type: 'manifest:update-accepted', leaseId: string, sequence: number, manifest?: Manifest }
  | { type: 'lease:running', leaseId: string, services: ServiceCount[] }
  | { type: 'lease:updated', leaseId: string, sequence: number }
  | { type: 'lease:update-failed', leaseId: string, sequence: number, error: string }
  | { type: 'lease:deploy-failed', leaseId: string, error: string }
  | { type: 'lease:redeploying', leaseId: string, reason: string }
  | { type: 'lease:closed', leaseId: string, reason: string }
  /** what the runtime made on the way (image pulls, replicas, networks, namespaces, workloads) */
  | { type: 'runtime:step', leaseId: string, step: RuntimeStep, name: string }

export type RuntimeStep = 'image:pull' | 'replica:create' | 'replica:start' | 'network:create' | 'namespace:create' | 'workload:create'

const RUNTIME_STEPS: Record<string, RuntimeStep> = {
  'runtime:image:pull': 'image:pull',
  'runtime:replica:create': 'replica:create',
  'runtime:replica:start': 'replica:start',
  'runtime:network:create': 'network:create',
  'runtime:namespace:create': 'namespace:create',
  'runtime:workload:create': 'workload:create'
}

function field (detail: unknown, key: string): unknown {
  return typeof detail === 'object' && detail !== null ? (detail as Record<string, unknown>)[key] : undefined
}
const text = (v: unknown): string => v == null ? '' : String(v)
const num = (v: unknown): number => typeof v === 'number' ? v : Number(v ?? 0)

/** a manifest made by this process (the lease machinery parsed and checked it) */
function manifestOf (v: unknown): Manifest | undefined {
  return Array.isArray(field(v, 'groups')) ? v as Manifest : undefined
}

function servicesOf (deployed: unknown): ServiceCount[] {
  const services = field(deployed, 'services')
  if (!Array.isArray(services)) return []
  return (services as DeployedLease['services']).map((s) => ({ name: text(field(s, 'name')), ready: num(field(s, 'ready')), count: num(field(s, 'count')) }))
}

/** a progress event of the lease machinery or the runtime, typed; undefined for the ones nothing reacts to */
export function lifecycleEvent (evt: { leaseId: string, type: string, detail?: unknown }): LifecycleEvent | undefined {
  const { leaseId, detail } = evt
  switch (evt.type) {
    case 'lease:won': return { type: 'lease:won', leaseId }
    case 'manifest:accepted': return { type: 'manifest:accepted', leaseId, manifest: manifestOf(field(detail, 'manifest')) }
    case 'manifest:update-accepted': return { type: 'manifest:update-accepted', leaseId, sequence: num(field(detail, 'sequence')), manifest: manifestOf(field(detail, 'manifest')) }
    case 'lease:running': return { type: 'lease:running', leaseId, services: servicesOf(detail) }
    case 'lease:updated': return { type: 'lease:updated', leaseId, sequence: num(field(detail, 'sequence')) }
    case 'lease:update-failed': return { type: 'lease:update-failed', leaseId, sequence: num(field(detail, 'sequence')), error: text(field(detail, 'error')) }
    case 'lease:deploy-failed': return { type: 'lease:deploy-failed', leaseId, error: text(field(detail, 'error')) }
    case 'lease:redeploying': return { type: 'lease:redeploying', leaseId, reason: text(field(detail, 'reason')) }
    case 'lease:closed': return { type: 'lease:closed', leaseId, reason: text(field(detail, 'reason')) }
    default: {
      const step = RUNTIME_STEPS[evt.type]
      return step != null ? { type: 'runtime:step', leaseId, step, name: text(field(detail, step === 'image:pull' ? 'image' : 'name')) } : undefined
    }
  }
}
