// `profiles.compute` (what one replica needs) and `profiles.placement` (where, and at what price).
import { AMOUNT_PATTERN, DENOM_PATTERN, GPU_INTERFACES, KNOWN_GPU_VENDORS, KNOWN_STORAGE_CLASSES, MAX_GPU_UNITS } from './constants.ts'
import { Context, checkKeys, checkName, isMap, join, kindOf, readBool, readInt, readMap, readString, readStringList } from './context.ts'
import { SdlUnitError } from './errors.ts'
import type { ComputeResources, GpuSpec, Price, StorageSpec } from './types.ts'
import { parseCpu, parseSizeDetailed } from './units.ts'
import type { YamlMap } from './yaml.ts'

export interface ParsedPlacement {
  name: string
  path: string
  attributes: Record<string, string>
  signedBy: { allOf: string[], anyOf: string[] }
  /** compute profile name → price; `undefined` for a price too broken to use */
  pricing: Map<string, Price | undefined>
}

const COMPUTE_KEYS = ['resources'] as const
const RESOURCE_KEYS = ['cpu', 'memory', 'storage', 'gpu'] as const
const CPU_KEYS = ['units', 'attributes'] as const
const MEMORY_KEYS = ['size'] as const
const STORAGE_KEYS = ['name', 'size', 'attributes'] as const
const STORAGE_ATTRIBUTES = ['persistent', 'class'] as const
const GPU_KEYS = ['units', 'attributes'] as const
const GPU_MODEL_KEYS = ['model', 'ram', 'interface'] as const
const PLACEMENT_KEYS = ['attributes', 'signedBy', 'pricing'] as const
const AKASH_ADDRESS = /^akash1[02-9ac-hj-np-z]{38}$/
const SIGNED_BY_KEYS = ['allOf', 'anyOf'] as const
const PRICE_KEYS = ['denom', 'amount'] as const

function unit<T> (ctx: Context, parse: (v: unknown) => T, v: unknown, path: string): T | undefined {
  try {
    return parse(v)
  } catch (err) {
    if (err instanceof SdlUnitError) return ctx.error(path, err.message)
    throw err
  }
}

/** a size; a suffix Akash does not define (`GB`, `gi`) is read as meant, with a notice */
function parseSize (ctx: Context, v: unknown, path: string): number | undefined {
  const r = unit(ctx, parseSizeDetailed, v, path)
  if (r?.readAs != null) ctx.notice(path, `${JSON.stringify(String(v))} uses a unit Akash does not define; read as ${r.readAs} (${r.bytes} bytes)`)
  return r?.bytes
}

/** `profiles.compute`: name → resources, `undefined` for a profile too broken to use. */
export function readCompute (ctx: Context, v: unknown, path: string): Map<string, ComputeResources | undefined> {
  const out = new Map<string, ComputeResources | undefined>()
  const m = readMap(ctx, v, path, true)
  if (m == null) return out
  const names = Object.keys(m)
  if (names.length > ctx.limits.maxComputeProfiles) {
    ctx.error(path, `must have at most ${ctx.limits.maxComputeProfiles} profiles`)
    return out
  }
  for (const name of names) {
    const p = join(path, name)
    if (!checkName(ctx, name, p)) continue
    out.set(name, readComputeProfile(ctx, m[name], p))
  }
  return out
}

function readComputeProfile (ctx: Context, v: unknown, path: string): ComputeResources | undefined {
  const m = readMap(ctx, v, path, true)
  if (m == null) return undefined
  checkKeys(ctx, m, path, COMPUTE_KEYS)
  const rp = join(path, 'resources')
  const r = readMap(ctx, m.resources, rp, true)
  if (r == null) return undefined
  checkKeys(ctx, r, rp, RESOURCE_KEYS)
  const before = ctx.errors.length
  const cpu = readCpu(ctx, r.cpu, join(rp, 'cpu'))
  const memory = readMemory(ctx, r.memory, join(rp, 'memory'))
  const storage = readStorage(ctx, r.storage, join(rp, 'storage'))
  const gpu = readGpu(ctx, r.gpu, join(rp, 'gpu'))
  if (cpu == null || memory == null || storage == null || gpu == null || ctx.errors.length > before) return undefined
  return { cpu, memory, storage, gpu }
}

function readCpu (ctx: Context, v: unknown, path: string): number | undefined {
  const m = readMap(ctx, v, path, true)
  if (m == null) return undefined
  checkKeys(ctx, m, path, CPU_KEYS)
  const up = join(path, 'units')
  let units = m.units
  if (units === undefined || units === null) return ctx.error(up, 'is required')
  if (Array.isArray(units) && units.length === 1 && !Array.isArray(units[0]) && !isMap(units[0])) {
    ctx.notice(up, `a list of one value where a number is expected; read as ${String(units[0])}`)
    units = units[0]
  }
  if (typeof units === 'number') units = ctx.scalarText(units, Array.isArray(m.units) ? `${up}[0]` : up) ?? units
  const milli = unit(ctx, parseCpu, units, up)
  if (milli === 0) return ctx.error(up, 'must be more than 0')
  if (m.attributes !== undefined && m.attributes !== null) {
    ctx.notice(join(path, 'attributes'), 'cpu attributes are not carried into the manifest or the order; ignored')
  }
  return milli
}

function readMemory (ctx: Context, v: unknown, path: string): number | undefined {
  const m = readMap(ctx, v, path, true)
  if (m == null) return undefined
  checkKeys(ctx, m, path, MEMORY_KEYS)
  const sp = join(path, 'size')
  if (m.size === undefined || m.size === null) return ctx.error(sp, 'is required')
  const size = parseSize(ctx, m.size, sp)
  if (size === 0) return ctx.error(sp, 'must be more than 0')
  return size
}

/** A single map (one volume named `default`) or a list of volumes. */
function readStorage (ctx: Context, v: unknown, path: string): StorageSpec[] | undefined {
  if (v === undefined || v === null) return []
  let list: unknown[]
  const single = !Array.isArray(v)
  if (Array.isArray(v)) list = v
  else if (isMap(v)) list = [v]
  else return ctx.error(path, `must be a map or a list of maps, not ${kindOf(v)}`)
  if (list.length > ctx.limits.maxVolumes) return ctx.error(path, `must have at most ${ctx.limits.maxVolumes} volumes`)
  const out: StorageSpec[] = []
  const seen = new Map<string, string>()
  let ok = true
  list.forEach((item, i) => {
    const p = single ? path : `${path}[${i}]`
    const s = readVolume(ctx, item, p)
    if (s == null) { ok = false; return }
    const first = seen.get(s.name)
    if (first != null) {
      const unnamed = (item as YamlMap).name == null
      ctx.error(unnamed ? p : join(p, 'name'), unnamed
        ? `a second volume without a name (an unnamed volume is named "default"; ${first} is one already)`
        : `duplicate volume name ${JSON.stringify(s.name)} (also ${first})`)
      ok = false
      return
    }
    seen.set(s.name, p)
    out.push(s)
  })
  return ok ? out : undefined
}

function readVolume (ctx: Context, v: unknown, path: string): StorageSpec | undefined {
  const m = readMap(ctx, v, path, true)
  if (m == null) return undefined
  checkKeys(ctx, m, path, STORAGE_KEYS)
  const before = ctx.errors.length
  const name = readString(ctx, m.name, join(path, 'name'), { nonEmpty: true, max: ctx.limits.maxNameLength }) ?? (m.name == null ? 'default' : undefined)
  const sp = join(path, 'size')
  let size: number | undefined
  if (m.size === undefined || m.size === null) ctx.error(sp, 'is required')
  else {
    size = parseSize(ctx, m.size, sp)
    if (size === 0) size = ctx.error(sp, 'must be more than 0')
  }
  let persistent: boolean | undefined = false
  let cls: string | undefined
  const ap = join(path, 'attributes')
  const attrs = readMap(ctx, m.attributes, ap)
  if (attrs != null) {
    for (const k of Object.keys(attrs)) {
      if (!(STORAGE_ATTRIBUTES as readonly string[]).includes(k)) ctx.error(join(ap, k), `is not a storage attribute (known: ${STORAGE_ATTRIBUTES.join(', ')})`)
    }
    persistent = readBool(ctx, attrs.persistent, join(ap, 'persistent'), false)
    cls = readString(ctx, attrs.class, join(ap, 'class'), { nonEmpty: true, max: 64 })
  }
  if (persistent != null && attrs != null) {
    const cp = join(ap, 'class')
    if (cls === 'ram' && persistent) ctx.error(cp, 'ram storage cannot be persistent')
    else if (cls != null && cls !== 'ram' && !persistent) ctx.error(cp, `ephemeral storage cannot have a class (only ram); set persistent: true for class ${cls}`)
    else if (cls == null && persistent && attrs.class == null) {
      cls = 'default'
      ctx.notice(cp, 'persistent storage without a class; class "default" assumed, as Akash does')
    }
    if (cls != null && !(KNOWN_STORAGE_CLASSES as readonly string[]).includes(cls)) {
      ctx.notice(cp, `storage class ${JSON.stringify(cls)} is not one Akash providers know (${KNOWN_STORAGE_CLASSES.join(', ')}); only providers offering it can bid`)
    }
  }
  if (name == null || size == null || persistent == null || ctx.errors.length > before) return undefined
  const s: StorageSpec = { name, size, persistent }
  if (cls != null) s.class = cls
  return s
}

function readGpu (ctx: Context, v: unknown, path: string): GpuSpec | undefined {
  if (v === undefined || v === null) return { units: 0, models: [] }
  const m = readMap(ctx, v, path)
  if (m == null) return undefined
  checkKeys(ctx, m, path, GPU_KEYS)
  const units = readInt(ctx, m.units, join(path, 'units'), 0, MAX_GPU_UNITS, { required: true })
  const ap = join(path, 'attributes')
  const attrs = readMap(ctx, m.attributes, ap)
  if (units == null) return undefined
  if (attrs == null) {
    if (m.attributes != null) return undefined
    if (units > 0) return ctx.error(ap, 'is required when units > 0 (name at least a vendor: attributes.vendor.nvidia)')
    return { units, models: [] }
  }
  checkKeys(ctx, attrs, ap, ['vendor'], 'gpu attribute')
  const vp = join(ap, 'vendor')
  const vendors = readMap(ctx, attrs.vendor, vp, units > 0)
  if (vendors == null) return attrs.vendor == null && units === 0 ? { units, models: [] } : undefined
  const names = Object.keys(vendors)
  if (names.length === 0 && units > 0) return ctx.error(vp, 'must name at least one vendor (e.g. nvidia)')
  const models: GpuSpec['models'] = []
  let ok = true
  for (const vendor of names) {
    const p = join(vp, vendor)
    if (!(KNOWN_GPU_VENDORS as readonly string[]).includes(vendor)) ctx.notice(p, `GPU vendor ${JSON.stringify(vendor)} is not one Akash providers list (${KNOWN_GPU_VENDORS.join(', ')})`)
    const list = vendors[vendor]
    if (list === null || list === undefined) {
      models.push({ vendor })
      continue
    }
    if (!Array.isArray(list)) {
      ctx.error(p, `must be empty (any model) or a list of models, not ${kindOf(list)}`)
      ok = false
      continue
    }
    if (list.length > ctx.limits.maxListEntries) {
      ctx.error(p, `must have at most ${ctx.limits.maxListEntries} models`)
      ok = false
      continue
    }
    if (list.length === 0) models.push({ vendor })
    list.forEach((item, i) => {
      const mp = `${p}[${i}]`
      const mm = readMap(ctx, item, mp, true)
      if (mm == null) { ok = false; return }
      checkKeys(ctx, mm, mp, GPU_MODEL_KEYS)
      const model = readString(ctx, mm.model, join(mp, 'model'), { required: true, nonEmpty: true, max: 128, scalar: true })
      let ram: number | undefined
      if (mm.ram !== undefined && mm.ram !== null) {
        ram = parseSize(ctx, mm.ram, join(mp, 'ram'))
        if (ram == null) ok = false
      }
      let iface = readString(ctx, mm.interface, join(mp, 'interface'), { max: 16 })
      if (iface != null) {
        iface = iface.toLowerCase()
        if (!(GPU_INTERFACES as readonly string[]).includes(iface)) {
          ctx.error(join(mp, 'interface'), `must be ${GPU_INTERFACES.join(' or ')}, not ${JSON.stringify(mm.interface)}`)
          ok = false
        }
      }
      if (model == null) { ok = false; return }
      const g: GpuSpec['models'][number] = { vendor, model }
      if (ram != null) g.ram = ram
      if (iface != null) g.interface = iface
      models.push(g)
    })
  }
  if (!ok) return undefined
  if (units === 0 && models.length > 0) ctx.notice(path, 'gpu attributes are given but units is 0; no GPU is requested')
  return { units, models: units === 0 ? [] : models }
}

/** `profiles.placement`: name → where and at what price. */
export function readPlacements (ctx: Context, v: unknown, path: string, compute: Map<string, unknown>): Map<string, ParsedPlacement | undefined> {
  const out = new Map<string, ParsedPlacement | undefined>()
  const m = readMap(ctx, v, path, true)
  if (m == null) return out
  const names = Object.keys(m)
  if (names.length > ctx.limits.maxPlacements) {
    ctx.error(path, `must have at most ${ctx.limits.maxPlacements} placements`)
    return out
  }
  for (const name of names) {
    const p = join(path, name)
    if (!checkName(ctx, name, p)) continue
    out.set(name, readPlacement(ctx, name, m[name], p, compute))
  }
  return out
}

function readPlacement (ctx: Context, name: string, v: unknown, path: string, compute: Map<string, unknown>): ParsedPlacement | undefined {
  const m = readMap(ctx, v, path, true)
  if (m == null) return undefined
  checkKeys(ctx, m, path, PLACEMENT_KEYS)
  const before = ctx.errors.length

  const attributes: Record<string, string> = {}
  const ap = join(path, 'attributes')
  const attrs = readMap(ctx, m.attributes, ap)
  if (attrs != null) {
    const keys = Object.keys(attrs)
    if (keys.length > ctx.limits.maxListEntries) ctx.error(ap, `must have at most ${ctx.limits.maxListEntries} attributes`)
    else {
      for (const k of keys) {
        const value = readString(ctx, attrs[k], join(ap, k), { required: true, scalar: true, max: 1024 })
        if (k.length > 256) ctx.error(join(ap, k), 'an attribute name must be at most 256 characters')
        else if (value != null) Object.defineProperty(attributes, k, { value, enumerable: true, writable: true, configurable: true })
      }
    }
  }

  const signedBy = { allOf: [] as string[], anyOf: [] as string[] }
  const sp = join(path, 'signedBy')
  const sb = readMap(ctx, m.signedBy, sp)
  if (sb != null) {
    checkKeys(ctx, sb, sp, SIGNED_BY_KEYS)
    signedBy.allOf = readStringList(ctx, sb.allOf, join(sp, 'allOf'), ctx.limits.maxListEntries, { itemMax: 256 }) ?? []
    signedBy.anyOf = readStringList(ctx, sb.anyOf, join(sp, 'anyOf'), ctx.limits.maxListEntries, { itemMax: 256 }) ?? []
    // Akash names auditors by account address; on souk an auditor is a key, so such a
    // requirement can never be met and the order would only expire
    for (const list of ['allOf', 'anyOf'] as const) {
      signedBy[list].forEach((a, i) => {
        if (AKASH_ADDRESS.test(a)) ctx.notice(`${join(sp, list)}[${i}]`, `${a} is an Akash account address, not a souk auditor key: no souk provider can hold its attestation, so this group gets no bid unless the tenant maps it to a souk auditor (tenant.akashAuditors in souk.yaml: ${a}=<auditor peer ID or hex key>). Otherwise name souk auditors by peer ID or hex key, or drop signedBy`)
      })
    }
  }

  const pricing = new Map<string, Price | undefined>()
  const pp = join(path, 'pricing')
  const pm = readMap(ctx, m.pricing, pp, true)
  if (pm != null) {
    for (const profile of Object.keys(pm)) {
      const p = join(pp, profile)
      if (!compute.has(profile)) ctx.notice(p, `no compute profile named ${JSON.stringify(profile)}; this price is not used`)
      pricing.set(profile, readPrice(ctx, pm[profile], p))
    }
  }
  if (ctx.errors.length > before) return undefined
  return { name, path, attributes, signedBy, pricing }
}

function readPrice (ctx: Context, v: unknown, path: string): Price | undefined {
  const m = readMap(ctx, v, path, true)
  if (m == null) return undefined
  checkKeys(ctx, m, path, PRICE_KEYS)
  const denom = readString(ctx, m.denom, join(path, 'denom'), { required: true, nonEmpty: true, max: 128 })
  if (denom != null && !DENOM_PATTERN.test(denom)) ctx.error(join(path, 'denom'), `${JSON.stringify(denom)} is not a denomination (a letter, then 2-127 letters, digits or / : . _ -)`)
  const ap = join(path, 'amount')
  let amount: string | undefined
  if (m.amount === undefined || m.amount === null) ctx.error(ap, 'is required')
  else if (typeof m.amount !== 'number' && typeof m.amount !== 'string') ctx.error(ap, `must be a decimal number, not ${kindOf(m.amount)}`)
  else {
    const text = (ctx.scalarText(m.amount, ap) ?? '').trim()
    if (!AMOUNT_PATTERN.test(text)) ctx.error(ap, `must be a decimal number like 1000 or 0.5 (at most 18 decimals), not ${JSON.stringify(text)}`)
    else amount = text
  }
  if (denom == null || amount == null || !DENOM_PATTERN.test(denom)) return undefined
  return { denom, amount }
}
