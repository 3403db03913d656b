// `endpoints`: named dedicated IP addresses that `expose.to.ip` refers to.
import { ENDPOINT_NAME_PATTERN } from './constants.ts'
import { Context, checkKeys, join, readMap, readString } from './context.ts'

export function readEndpoints (ctx: Context, v: unknown): Record<string, { kind: 'ip' }> {
  const out: Record<string, { kind: 'ip' }> = {}
  const m = readMap(ctx, v, 'endpoints')
  if (m == null) return out
  const names = Object.keys(m)
  if (names.length > ctx.limits.maxListEntries) {
    ctx.error('endpoints', `must have at most ${ctx.limits.maxListEntries} endpoints`)
    return out
  }
  for (const name of names) {
    const p = join('endpoints', name)
    if (!ENDPOINT_NAME_PATTERN.test(name) || name.length > ctx.limits.maxNameLength) {
      ctx.error(p, 'an endpoint name must be lowercase letters first, then lowercase letters, digits, "-" or "_" (at least 2 characters)')
      continue
    }
    const e = readMap(ctx, m[name], p, true)
    if (e == null) continue
    checkKeys(ctx, e, p, ['kind'])
    const kind = readString(ctx, e.kind, join(p, 'kind'), { required: true })
    if (kind == null) continue
    if (kind !== 'ip') {
      ctx.error(join(p, 'kind'), `must be ip, not ${JSON.stringify(kind)}`)
      continue
    }
    Object.defineProperty(out, name, { value: { kind: 'ip' }, enumerable: true, writable: true, configurable: true })
  }
  return out
}
