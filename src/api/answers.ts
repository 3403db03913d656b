// Answers whose parts the daemon does not type end to end (a lease's status is partly what its
// provider sent; a provider's status is a record of its runtime's findings): their shape is
// checked here, where they leave for the client, so a wrong one is an error, not a garbled print.
import { ApiError, ApiErrorCode } from './errors.ts'
import type { LeaseStatusView, ProviderStatusView } from './types.ts'

function record (v: unknown, what: string): Record<string, unknown> {
  if (v == null || typeof v !== 'object' || Array.isArray(v)) throw new ApiError(ApiErrorCode.INTERNAL, `${what} is not an object`, 500)
  return v as Record<string, unknown>
}

function field (o: Record<string, unknown>, name: string, type: 'string' | 'number' | 'object', what: string, optional = false): void {
  const v = o[name]
  if (v == null && optional) return
  if (typeof v !== type || v === null) throw new ApiError(ApiErrorCode.INTERNAL, `${what}.${name} is not a ${type}`, 500)
}

function list (o: Record<string, unknown>, name: string, what: string, optional = false): void {
  const v = o[name]
  if (v == null && optional) return
  if (!Array.isArray(v)) throw new ApiError(ApiErrorCode.INTERNAL, `${what}.${name} is not a list`, 500)
}

/** GET /v1/leases/:id: the deployment, and what its provider said when it answered */
export function leaseStatusAnswer (v: unknown): LeaseStatusView {
  const o = record(v, 'lease status')
  const d = record(o.deployment, 'lease status.deployment')
  for (const f of ['order', 'state', 'totals'] as const) field(d, f, 'string', 'deployment')
  field(o, 'provider', 'object', 'lease status', true)
  if (o.provider != null) {
    const p = record(o.provider, 'lease status.provider')
    field(p, 'deployed', 'object', 'provider', true)
    list(p, 'recent', 'provider', true)
  }
  list(o, 'chain', 'lease status', true)
  list(o, 'history', 'lease status', true)
  return v as LeaseStatusView
}

/** GET /v1/provider: the runtime, its sandbox, capacity and leases */
export function providerStatusAnswer (v: unknown): ProviderStatusView {
  const o = record(v, 'provider status')
  field(o, 'runtime', 'string', 'provider status')
  field(o, 'sandbox', 'object', 'provider status', true)
  field(o, 'attributes', 'object', 'provider status')
  for (const f of ['capacity', 'free'] as const) {
    const r = record(o[f], `provider status.${f}`)
    field(r, 'cpu', 'number', f)
    field(r, 'memory', 'number', f)
    list(r, 'gpus', f)
  }
  list(o, 'reservations', 'provider status')
  list(o, 'leases', 'provider status')
  return v as ProviderStatusView
}
