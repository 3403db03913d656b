// `deployment` joins services with placements and compute profiles. From it come the manifest
// (what a provider runs), the resource groups (what an order asks for) and the totals.
import { Context, checkKeys, join, readInt, readMap, readString } from './context.ts'
import { sumProducts } from '../wire/amount.ts'
import { TEE_ATTRIBUTE } from './constants.ts'
import type { ParsedPlacement } from './profiles.ts'
import type { ParsedService } from './services.ts'
import type { ComputeResources, GroupManifest, Price, ResourceGroup, ResourceTotals, ServiceManifest } from './types.ts'

interface Placed {
  service: ParsedService
  placement: ParsedPlacement
  profile: string
  resources: ComputeResources
  price: Price
  count: number
  /** `deployment.<service>.<placement>` */
  path: string
}

export interface Built {
  groups: GroupManifest[]
  resourceGroups: ResourceGroup[]
  totals: ResourceTotals
}

const DEPLOYMENT_KEYS = ['profile', 'count'] as const

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export function buildDeployment (
  ctx: Context,
  v: unknown,
  services: Map<string, ParsedService | undefined>,
  compute: Map<string, ComputeResources | undefined>,
  placements: Map<string, ParsedPlacement | undefined>,
  endpoints: Record<string, unknown>
): Built {
  const placed: Placed[] = []
  const deployed = new Map<string, string[]>()
  const m = readMap(ctx, v, 'deployment', true)
  if (m != null) {
    const names = Object.keys(m)
    if (names.length === 0) ctx.error('deployment', 'must deploy at least one service')
    const alias = loneMismatch(names, services)
    for (const entry of names) {
      const sp = join('deployment', entry)
      let svcName = entry
      if (alias != null && entry === alias.entry) {
        ctx.notice(sp, `no service named ${JSON.stringify(entry)}; ${JSON.stringify(alias.service)} is the one service not deployed and this the one entry naming no service, so it is read as deploying ${JSON.stringify(alias.service)}`)
        svcName = alias.service
      } else if (!services.has(svcName)) ctx.error(sp, `no service named ${JSON.stringify(svcName)} under services`)
      const dm = readMap(ctx, m[entry], sp, true)
      if (dm == null) continue
      const placementNames = Object.keys(dm)
      if (placementNames.length === 0) ctx.error(sp, 'must name at least one placement')
      for (const plName of placementNames) {
        const pp = join(sp, plName)
        if (!placements.has(plName)) ctx.error(pp, `no placement named ${JSON.stringify(plName)} under profiles.placement`)
        const e = readMap(ctx, dm[plName], pp, true)
        if (e == null) continue
        checkKeys(ctx, e, pp, DEPLOYMENT_KEYS)
        const profile = readString(ctx, e.profile, join(pp, 'profile'), { required: true, nonEmpty: true, scalar: true })
        const count = readInt(ctx, e.count, join(pp, 'count'), 1, ctx.limits.maxCount, { required: true })
        if (profile != null && !compute.has(profile)) ctx.error(join(pp, 'profile'), `no compute profile named ${JSON.stringify(profile)} under profiles.compute`)
        const placement = placements.get(plName)
        if (profile != null && compute.has(profile) && placement != null && !placement.pricing.has(profile)) {
          ctx.error(join(join(placement.path, 'pricing'), profile), `is required: ${pp} uses compute profile ${profile} here`)
        }
        if (services.has(svcName)) deployed.set(svcName, [...(deployed.get(svcName) ?? []), plName])
        const service = services.get(svcName)
        const resources = profile != null ? compute.get(profile) : undefined
        const price = profile != null ? placement?.pricing.get(profile) : undefined
        if (service != null && resources != null && profile != null) checkVolumes(ctx, service, profile, resources, pp)
        if (service == null || !service.valid || placement == null || resources == null || price == null || count == null || profile == null) continue
        placed.push({ service, placement, profile, resources, price, count, path: pp })
      }
    }
  }

  for (const [name, svc] of services) {
    const where = deployed.get(name)
    if (where == null) ctx.notice(svc?.path ?? join('services', name), 'is not named under deployment, so it is not deployed')
    else if (where.length > 1) ctx.notice(join('deployment', name), `deploys one service to ${where.length} placements (${where.join(', ')}); each group runs its own copy, and some runtimes need one name per lease`)
  }

  const used = new Set<string>()
  for (const name of deployed.keys()) for (const e of services.get(name)?.expose ?? []) for (const t of e.to) if (t.ip != null) used.add(t.ip)
  for (const name of Object.keys(endpoints)) {
    if (!used.has(name)) ctx.error(join('endpoints', name), 'is declared but no deployed service exposes a port on it')
  }

  return assemble(ctx, placed)
}

/**
 * A deployment entry whose name matches no service, in a file where exactly one entry is
 * unmatched and exactly one service is undeployed: a renamed service (it occurs in published
 * files). Pairing them is the only reading that deploys anything; it is reported as a notice.
 */
function loneMismatch (entries: string[], services: Map<string, unknown>): { entry: string, service: string } | undefined {
  const unmatched = entries.filter((e) => !services.has(e))
  const undeployed = [...services.keys()].filter((s) => !entries.includes(s))
  if (unmatched.length !== 1 || undeployed.length !== 1) return undefined
  return { entry: unmatched[0], service: undeployed[0] }
}

/** Every `params.storage` volume must exist in the profile; persistent volumes must be mounted. */
function checkVolumes (ctx: Context, service: ParsedService, profile: string, resources: ComputeResources, where: string): void {
  const volumes = new Map(resources.storage.map((s) => [s.name, s]))
  for (const name of Object.keys(service.storage)) {
    if (!volumes.has(name)) ctx.error(join(join(service.path, 'params.storage'), name), `compute profile ${JSON.stringify(profile)} (used at ${where}) has no volume named ${JSON.stringify(name)}`)
  }
  for (const s of resources.storage) {
    if (s.persistent && service.storage[s.name] == null) {
      ctx.notice(join(service.path, 'params.storage'), `volume ${JSON.stringify(s.name)} of compute profile ${JSON.stringify(profile)} is persistent but not mounted: the service cannot see it (Akash asks for a mount here)`)
    }
  }
}

function assemble (ctx: Context, placed: Placed[]): Built {
  const byGroup = new Map<string, Placed[]>()
  for (const p of placed) byGroup.set(p.placement.name, [...(byGroup.get(p.placement.name) ?? []), p])
  const groups: GroupManifest[] = []
  const resourceGroups: ResourceGroup[] = []
  const totals: ResourceTotals = { cpu: 0, memory: 0, storage: {}, gpu: {}, count: 0 }

  for (const name of [...byGroup.keys()].sort(byName)) {
    const members = (byGroup.get(name) ?? []).sort((a, b) => byName(a.service.name, b.service.name))
    const placement = members[0].placement
    groups.push({ name, services: members.map(toServiceManifest) })

    const denoms = [...new Set(members.map((p) => p.price.denom))]
    if (denoms.length > 1) {
      const which = members.map((p) => `${p.service.name}: ${p.price.denom}`).join(', ')
      ctx.error(join(placement.path, 'pricing'), `prices in one placement group must share one denom; found ${denoms.join(' and ')} (${which})`)
    }
    resourceGroups.push({
      name,
      attributes: { ...placement.attributes, ...teeAttribute(ctx, placement, members) },
      signedBy: { allOf: [...placement.signedBy.allOf], anyOf: [...placement.signedBy.anyOf] },
      resources: members.map((p) => ({ service: p.service.name, resources: structuredClone(p.resources), count: p.count, price: { ...p.price } })),
      maxPrice: { denom: denoms[0], amount: sumProducts(members.map((p) => ({ amount: p.price.amount, count: p.count }))) }
    })

    for (const p of members) addTotals(totals, p.resources, p.count)
  }
  return { groups, resourceGroups, totals }
}

/**
 * `params.tee` becomes the group's placement attribute: one provider runs the whole group, so its
 * services must agree, and a GPU kind needs a GPU. souk checks no attestation: the attribute is the
 * provider's word, or its auditors' when the placement names them in signedBy.
 */
function teeAttribute (ctx: Context, placement: ParsedPlacement, members: Placed[]): Record<string, string> {
  const asking = members.filter((p) => p.service.tee != null)
  if (asking.length === 0) return {}
  const kinds = [...new Set(asking.map((p) => p.service.tee as string))]
  const where = join(asking[0].service.path, 'params.tee')
  if (kinds.length > 1) {
    ctx.error(where, `services of placement ${JSON.stringify(placement.name)} ask for different TEEs (${asking.map((p) => `${p.service.name}: ${p.service.tee as string}`).join(', ')}); one provider runs the group, so they must agree`)
    return {}
  }
  const kind = kinds[0]
  const written = placement.attributes[TEE_ATTRIBUTE]
  if (written != null && written !== kind) {
    ctx.error(join(join(placement.path, 'attributes'), TEE_ATTRIBUTE), `is ${JSON.stringify(written)}, but ${where} asks for ${JSON.stringify(kind)}`)
    return {}
  }
  for (const p of asking) {
    if (kind.endsWith('-gpu') && p.resources.gpu.units === 0) ctx.error(join(p.service.path, 'params.tee'), `${kind} is confidential computing with a GPU, but compute profile ${JSON.stringify(p.profile)} asks for no GPU`)
  }
  const bare = members.filter((p) => p.service.tee == null).map((p) => p.service.name)
  ctx.notice(where, `only providers that advertise the attribute ${TEE_ATTRIBUTE}=${kind} bid on placement ${JSON.stringify(placement.name)}${bare.length > 0 ? ` (${bare.join(', ')} ${bare.length === 1 ? 'runs' : 'run'} there too)` : ''}; souk verifies no attestation, so name auditors in signedBy to rely on more than the provider's word`)
  return { [TEE_ATTRIBUTE]: kind }
}

function toServiceManifest (p: Placed): ServiceManifest {
  const s = p.service
  const out: ServiceManifest = {
    name: s.name,
    image: s.image,
    env: [...s.env],
    expose: s.expose,
    storage: s.storage,
    profile: p.profile,
    resources: p.resources,
    count: p.count
  }
  if (s.command != null) out.command = [...s.command]
  if (s.args != null) out.args = [...s.args]
  if (s.credentials != null) out.credentials = { ...s.credentials }
  if (s.dependencies != null) out.dependencies = [...s.dependencies]
  return out
}

/** `nvidia/h100`, `nvidia/*` for any model, `nvidia/a100|h100` when several models are acceptable */
export function gpuKey (gpu: ComputeResources['gpu']): string {
  const byVendor = new Map<string, Set<string>>()
  for (const m of gpu.models) {
    const set = byVendor.get(m.vendor) ?? new Set<string>()
    set.add(m.model ?? '*')
    byVendor.set(m.vendor, set)
  }
  if (byVendor.size === 0) return '*/*'
  return [...byVendor.entries()]
    .sort((a, b) => byName(a[0], b[0]))
    .map(([vendor, models]) => `${vendor}/${models.has('*') ? '*' : [...models].sort(byName).join('|')}`)
    .join(',')
}

function addTotals (t: ResourceTotals, r: ComputeResources, count: number): void {
  t.cpu += r.cpu * count
  t.memory += r.memory * count
  for (const s of r.storage) {
    const cls = s.class ?? 'ephemeral'
    t.storage[cls] = (t.storage[cls] ?? 0) + s.size * count
  }
  if (r.gpu.units > 0) {
    const key = gpuKey(r.gpu)
    t.gpu[key] = (t.gpu[key] ?? 0) + r.gpu.units * count
  }
  t.count += count
}
