// The provider's one reading of a manifest (protocols/manifest.md §4.2–4.3): the canonical JSON
// of a manifest of exactly the known shape, within the order it was bought for. The manifest
// protocol (manifest.ts) carries the bytes; this decides what they may ask for.
import { MAX_GROUPS, MAX_SERVICES_PER_GROUP, MAX_STORAGE_VOLUMES, MAX_GPU_MODELS } from '../../wire/index.ts'
import type { OrderBody, WireResources } from '../../wire/index.ts'
import { canonicalJson } from '../../sdl/canonical.ts'
import { CanonicalJsonError } from '../../sdl/errors.ts'
import { DEFAULT_LIMITS, ENDPOINT_NAME_PATTERN, GPU_INTERFACES, MAX_BYTES, MAX_GPU_UNITS, MAX_MILLICPU, NEXT_CASES, SDL_VERSIONS, SERVICE_NAME_PATTERN } from '../../sdl/constants.ts'
import type { Expose, ExposeTo, GpuSpec, GroupManifest, HttpOptions, Manifest, ServiceCredentials, ServiceManifest, ServiceVolumeParams, StorageSpec } from '../../sdl/types.ts'
import { ManifestRefusal } from './manifest-refusal.ts'

/** The outcome of reading a manifest against its order: the manifest, or why not and where. */
export type ManifestReading =
  | { ok: true, manifest: Manifest }
  | { ok: false, code: ReadingCode, path: string, reason: string }

/** limits of §4.2: those of the deployment file (docs/sdl.md) and of the order (protocols/wire.md) */
const LIMITS = {
  nameLength: DEFAULT_LIMITS.maxNameLength,
  stringLength: DEFAULT_LIMITS.maxStringLength,
  env: DEFAULT_LIMITS.maxEnv,
  args: DEFAULT_LIMITS.maxArgs,
  expose: DEFAULT_LIMITS.maxExpose,
  listEntries: DEFAULT_LIMITS.maxListEntries,
  count: DEFAULT_LIMITS.maxCount,
  imageLength: 1024,
  mountLength: 4096,
  credentialLength: 1024,
  passwordLength: 16 * 1024,
  uint32: 0xffffffff
} as const

/** container paths a volume may not be mounted on: the kernel's file systems (/dev/shm, a common ram volume, excepted) */
const RESERVED_MOUNTS = /^\/(proc|sys)(\/|$)|^\/dev\/?$|^\/dev\/(?!shm(\/|$))/
const HOSTNAME = /^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

type ReadingCode = typeof ManifestRefusal.INVALID_MANIFEST | typeof ManifestRefusal.EXCEEDS_ORDER

class Invalid {
  readonly path: string
  readonly reason: string
  readonly code: ReadingCode
  constructor (path: string, reason: string, code: ReadingCode = ManifestRefusal.INVALID_MANIFEST) {
    this.path = path
    this.reason = reason
    this.code = code
  }
}

class Exceeds extends Invalid {
  constructor (path: string, reason: string) {
    super(path, reason, ManifestRefusal.EXCEEDS_ORDER)
  }
}

type Obj = Record<string, unknown>

function at (path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`
}

function kind (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a map'
  if (typeof v === 'string') return 'text'
  return `${typeof v} ${String(v)}`
}

/** a map with exactly these required keys and any of the optional ones; anything else is refused */
function fields (v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Obj {
  if (v == null || typeof v !== 'object' || Array.isArray(v)) throw new Invalid(path || '(manifest)', `must be a map, not ${kind(v)}`)
  const o = v as Obj
  for (const k of Object.keys(o)) {
    if (!required.includes(k) && !optional.includes(k)) throw new Invalid(at(path, k), 'is not a field of the manifest (unknown fields are refused)')
  }
  for (const k of required) if (!Object.hasOwn(o, k)) throw new Invalid(at(path, k), 'is required')
  return o
}

function text (v: unknown, path: string, max: number, opts: { min?: number, pattern?: RegExp, what?: string } = {}): string {
  if (typeof v !== 'string') throw new Invalid(path, `must be text, not ${kind(v)}`)
  if (v.length < (opts.min ?? 1)) throw new Invalid(path, 'must not be empty')
  if (v.length > max) throw new Invalid(path, `must be at most ${max} characters`)
  if (v.includes('\u0000')) throw new Invalid(path, 'must not contain a NUL character')
  if (opts.pattern != null && !opts.pattern.test(v)) throw new Invalid(path, `${JSON.stringify(v.slice(0, 64))} is not ${opts.what ?? 'allowed here'}`)
  return v
}

/** an integer in its unit (millicpu, bytes, replicas, ports) within [min, max] */
function int (v: unknown, path: string, min: number, max: number, unit = ''): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Invalid(path, `must be a whole number${unit === '' ? '' : ` of ${unit}`}, not ${kind(v)}`)
  if (v < min) throw new Invalid(path, `must be at least ${min}${unit === '' ? '' : ` ${unit}`}`)
  if (v > max) throw new Invalid(path, `must be at most ${max}${unit === '' ? '' : ` ${unit}`}`)
  return v
}

function bool (v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new Invalid(path, `must be true or false, not ${kind(v)}`)
  return v
}

function list<T> (v: unknown, path: string, max: number, item: (x: unknown, p: string) => T, min = 0): T[] {
  if (!Array.isArray(v)) throw new Invalid(path, `must be a list, not ${kind(v)}`)
  if (v.length < min) throw new Invalid(path, `must have at least ${min} ${min === 1 ? 'entry' : 'entries'}`)
  if (v.length > max) throw new Invalid(path, `must have at most ${max} entries`)
  return v.map((x, i) => item(x, at(path, i)))
}

function entries (v: unknown, path: string, max: number): Array<[string, unknown]> {
  if (v == null || typeof v !== 'object' || Array.isArray(v)) throw new Invalid(path, `must be a map, not ${kind(v)}`)
  const e = Object.entries(v)
  if (e.length > max) throw new Invalid(path, `must have at most ${max} entries`)
  return e
}

/** a map built without a prototype lookup, so no key (`__proto__` included) is special */
function own<T> (pairs: Array<[string, T]>): Record<string, T> {
  const out: Record<string, T> = {}
  for (const [k, v] of pairs) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
  return out
}

function readStorage (v: unknown, path: string): StorageSpec {
  const o = fields(v, path, ['name', 'size', 'persistent'], ['class'])
  const s: StorageSpec = {
    name: text(o.name, at(path, 'name'), LIMITS.nameLength),
    size: int(o.size, at(path, 'size'), 1, MAX_BYTES, 'bytes'),
    persistent: bool(o.persistent, at(path, 'persistent'))
  }
  if (o.class !== undefined) s.class = text(o.class, at(path, 'class'), 64)
  if (s.class === 'ram' && s.persistent) throw new Invalid(at(path, 'class'), 'ram storage cannot be persistent')
  if (s.class != null && s.class !== 'ram' && !s.persistent) throw new Invalid(at(path, 'class'), 'ephemeral storage cannot have a class other than ram')
  return s
}

function readGpu (v: unknown, path: string): GpuSpec {
  const o = fields(v, path, ['units', 'models'])
  const units = int(o.units, at(path, 'units'), 0, MAX_GPU_UNITS, 'GPUs')
  const models = list(o.models, at(path, 'models'), MAX_GPU_MODELS, (x, p) => {
    const m = fields(x, p, ['vendor'], ['model', 'ram', 'interface'])
    const out: GpuSpec['models'][number] = { vendor: text(m.vendor, at(p, 'vendor'), 64) }
    if (m.model !== undefined) out.model = text(m.model, at(p, 'model'), 128)
    if (m.ram !== undefined) out.ram = int(m.ram, at(p, 'ram'), 1, MAX_BYTES, 'bytes')
    if (m.interface !== undefined) out.interface = text(m.interface, at(p, 'interface'), 16, { pattern: new RegExp(`^(${GPU_INTERFACES.join('|')})$`), what: `one of ${GPU_INTERFACES.join(', ')}` })
    return out
  })
  if (units > 0 && models.length === 0) throw new Invalid(at(path, 'models'), 'must name at least one vendor when units > 0')
  if (units === 0 && models.length > 0) throw new Invalid(at(path, 'models'), 'must be empty when units is 0')
  return { units, models }
}

function readExpose (v: unknown, path: string, endpoints: Record<string, unknown>): Expose {
  const o = fields(v, path, ['port', 'as', 'proto', 'to', 'accept'], ['httpOptions'])
  const proto = text(o.proto, at(path, 'proto'), 3, { pattern: /^(tcp|udp)$/, what: 'tcp or udp' }) as 'tcp' | 'udp'
  const to = list(o.to, at(path, 'to'), LIMITS.listEntries, (x, p): ExposeTo => {
    const t = fields(x, p, ['global'], ['service', 'ip'])
    const out: ExposeTo = { global: bool(t.global, at(p, 'global')) }
    if (t.service !== undefined) out.service = text(t.service, at(p, 'service'), 63, { pattern: SERVICE_NAME_PATTERN, what: 'a service name' })
    if (t.ip !== undefined) {
      out.ip = text(t.ip, at(p, 'ip'), LIMITS.nameLength)
      if (!Object.hasOwn(endpoints, out.ip)) throw new Invalid(at(p, 'ip'), `names no endpoint of the manifest (${JSON.stringify(out.ip)})`)
    }
    return out
  })
  const e: Expose = {
    port: int(o.port, at(path, 'port'), 1, 65535),
    as: int(o.as, at(path, 'as'), 1, 65535),
    proto,
    to,
    accept: list(o.accept, at(path, 'accept'), LIMITS.listEntries, (x, p) => text(x, p, 253, { pattern: HOSTNAME, what: 'a host name' }))
  }
  if (o.httpOptions !== undefined) {
    const hp = at(path, 'httpOptions')
    const h = fields(o.httpOptions, hp, [], ['maxBodySize', 'readTimeout', 'sendTimeout', 'nextTries', 'nextTimeout', 'nextCases'])
    const out: HttpOptions = {}
    for (const k of ['maxBodySize', 'readTimeout', 'sendTimeout', 'nextTries', 'nextTimeout'] as const) {
      if (h[k] !== undefined) out[k] = int(h[k], at(hp, k), 0, LIMITS.uint32)
    }
    if (h.nextCases !== undefined) {
      out.nextCases = list(h.nextCases, at(hp, 'nextCases'), NEXT_CASES.length, (x, p) => text(x, p, 16, { pattern: new RegExp(`^(${NEXT_CASES.join('|')})$`), what: 'a next case' }))
    }
    e.httpOptions = out
  }
  return e
}

function readService (v: unknown, path: string, endpoints: Record<string, unknown>): ServiceManifest {
  const o = fields(v, path, ['name', 'image', 'env', 'expose', 'storage', 'profile', 'resources', 'count'], ['command', 'args', 'credentials', 'dependencies'])
  const name = text(o.name, at(path, 'name'), 63, { pattern: SERVICE_NAME_PATTERN, what: 'a service name (lowercase letters, digits and dashes, starting with a letter)' })
  const image = text(o.image, at(path, 'image'), LIMITS.imageLength)
  if (/\s/.test(image)) throw new Invalid(at(path, 'image'), 'must not contain white space')
  const rp = at(path, 'resources')
  const r = fields(o.resources, rp, ['cpu', 'memory', 'storage', 'gpu'])
  const cpu = int(r.cpu, at(rp, 'cpu'), 1, MAX_MILLICPU, 'millicpu')
  const memory = int(r.memory, at(rp, 'memory'), 1, MAX_BYTES, 'bytes')
  const storage = list(r.storage, at(rp, 'storage'), MAX_STORAGE_VOLUMES, readStorage)
  const names = new Set<string>()
  storage.forEach((s, i) => {
    if (names.has(s.name)) throw new Invalid(at(at(at(rp, 'storage'), i), 'name'), `volume ${JSON.stringify(s.name)} is named twice`)
    names.add(s.name)
  })
  const s: ServiceManifest = {
    name,
    image,
    env: list(o.env, at(path, 'env'), LIMITS.env, (x, p) => {
      const e = text(x, p, LIMITS.stringLength)
      if (e.startsWith('=')) throw new Invalid(p, 'has no name before "="')
      return e
    }),
    expose: list(o.expose, at(path, 'expose'), LIMITS.expose, (x, p) => readExpose(x, p, endpoints)),
    storage: {},
    profile: text(o.profile, at(path, 'profile'), LIMITS.nameLength),
    resources: {
      cpu,
      memory,
      storage,
      gpu: readGpu(r.gpu, at(rp, 'gpu'))
    },
    count: int(o.count, at(path, 'count'), 1, LIMITS.count, 'replicas')
  }
  const mounts = new Set<string>()
  const params: Array<[string, ServiceVolumeParams[string]]> = entries(o.storage, at(path, 'storage'), MAX_STORAGE_VOLUMES).map(([vol, x]) => {
    const p = at(at(path, 'storage'), vol)
    if (!names.has(vol)) throw new Invalid(p, `names a volume that resources.storage does not define (${JSON.stringify(vol.slice(0, 64))})`)
    const m = fields(x, p, ['mount', 'readOnly'])
    const mount = text(m.mount, at(p, 'mount'), LIMITS.mountLength)
    if (!mount.startsWith('/') || mount.split('/').some((part) => part === '..' || part === '.')) throw new Invalid(at(p, 'mount'), 'must be an absolute path without . or .. parts')
    if (/^\/+$/.test(mount) || RESERVED_MOUNTS.test(mount)) throw new Invalid(at(p, 'mount'), `${mount} is reserved (the root, /proc, /sys and /dev other than /dev/shm cannot be volume mounts)`)
    const key = mount.replace(/\/+$/, '').replace(/\/+/g, '/')
    if (mounts.has(key)) throw new Invalid(at(p, 'mount'), `${mount} is the mount of another volume`)
    mounts.add(key)
    return [vol, { mount, readOnly: bool(m.readOnly, at(p, 'readOnly')) }]
  })
  s.storage = own(params)
  if (o.command !== undefined) s.command = list(o.command, at(path, 'command'), LIMITS.args, (x, p) => text(x, p, LIMITS.stringLength, { min: 0 }))
  if (o.args !== undefined) s.args = list(o.args, at(path, 'args'), LIMITS.args, (x, p) => text(x, p, LIMITS.stringLength, { min: 0 }))
  if (o.credentials !== undefined) {
    const cp = at(path, 'credentials')
    const c = fields(o.credentials, cp, ['host', 'username', 'password'], ['email'])
    const cred: ServiceCredentials = {
      host: text(c.host, at(cp, 'host'), LIMITS.credentialLength),
      username: text(c.username, at(cp, 'username'), LIMITS.credentialLength),
      password: text(c.password, at(cp, 'password'), LIMITS.passwordLength)
    }
    if (c.email !== undefined) cred.email = text(c.email, at(cp, 'email'), LIMITS.credentialLength)
    s.credentials = cred
  }
  if (o.dependencies !== undefined) {
    s.dependencies = list(o.dependencies, at(path, 'dependencies'), LIMITS.listEntries, (x, p) => text(x, p, 63, { pattern: SERVICE_NAME_PATTERN, what: 'a service name' }))
  }
  return s
}

function sameModel (a: GpuSpec['models'][number], b: WireResources['gpu']['models'][number]): boolean {
  return a.vendor === b.vendor && a.model === b.model && a.ram === b.ram && a.interface === b.interface
}

/** §4.3: every service within the order's resource unit of the same name, every volume by name, class and size */
function checkFits (manifest: Manifest, order: OrderBody): void {
  manifest.groups.forEach((g, gi) => {
    const gp = `groups[${gi}]`
    const og = order.groups.find((x) => x.name === g.name)
    if (og == null) throw new Exceeds(at(gp, 'name'), `group ${JSON.stringify(g.name)} is not in the order`)
    g.services.forEach((s, si) => {
      const sp = at(at(gp, 'services'), si)
      const r = og.resources.find((x) => x.service === s.name)
      if (r == null) throw new Exceeds(at(sp, 'name'), `service ${JSON.stringify(s.name)} is not in the order's group ${g.name}`)
      const rp = at(sp, 'resources')
      const over = (path: string, what: string, got: number, ordered: number): void => {
        if (got > ordered) throw new Exceeds(path, `${what} ${got} is more than the order's ${ordered} for service ${s.name}`)
      }
      over(at(sp, 'count'), 'count', s.count, r.count)
      over(at(rp, 'cpu'), 'cpu (millicpu)', s.resources.cpu, r.cpu)
      over(at(rp, 'memory'), 'memory (bytes)', s.resources.memory, r.memory)
      over(at(at(rp, 'gpu'), 'units'), 'GPU units', s.resources.gpu.units, r.gpu.units)
      s.resources.gpu.models.forEach((m, i) => {
        if (!r.gpu.models.some((x) => sameModel(m, x))) throw new Exceeds(at(at(at(rp, 'gpu'), 'models'), i), `GPU ${m.vendor}/${m.model ?? '*'} is not one the order asked for`)
      })
      s.resources.storage.forEach((v, i) => {
        const vp = at(at(rp, 'storage'), i)
        const ov = r.storage.find((x) => x.name === v.name)
        if (ov == null) throw new Exceeds(at(vp, 'name'), `volume ${JSON.stringify(v.name)} is not in the order's resources for service ${s.name}`)
        if (ov.persistent !== v.persistent) throw new Exceeds(at(vp, 'persistent'), `volume ${v.name} is ${v.persistent ? '' : 'not '}persistent, the order's is ${ov.persistent ? '' : 'not '}persistent`)
        if ((ov.class ?? '') !== (v.class ?? '')) throw new Exceeds(at(vp, 'class'), `volume ${v.name} has class ${v.class ?? '(none)'}, the order's has ${ov.class ?? '(none)'}`)
        over(at(vp, 'size'), `volume ${v.name} size (bytes)`, v.size, ov.size)
      })
    })
  })
}

/**
 * The provider's one reading of a manifest (protocols/manifest.md §4.2–4.3): the bytes must be
 * the canonical JSON of a manifest of exactly the known shape, every quantity a whole number in
 * its unit with a minimum, and every service within the order's resource unit of the same name.
 * Nothing may be created from a manifest this refuses.
 */
export function readManifest (bytes: Uint8Array, order: OrderBody): ManifestReading {
  let value: unknown
  const textOf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
  try {
    value = JSON.parse(textOf)
  } catch {
    return { ok: false, code: ManifestRefusal.INVALID_MANIFEST, path: '(manifest)', reason: 'is not JSON' }
  }
  try {
    // the hash covers these bytes: only the one canonical encoding is accepted, so duplicate keys,
    // fractions and other spellings of "the same" manifest cannot slip past the checks below
    let canonical: string
    try {
      canonical = canonicalJson(value)
    } catch (err) {
      if (!(err instanceof CanonicalJsonError)) throw err
      throw new Invalid(err.path === '' ? '(manifest)' : err.path, err.message.slice(err.message.indexOf(': ') + 2))
    }
    if (canonical !== textOf) throw new Invalid('(manifest)', 'is not in canonical form (keys sorted, no white space, whole numbers only, each key once)')
    const o = fields(value, '', ['version', 'groups', 'endpoints'])
    const version = text(o.version, 'version', 8)
    if (!(SDL_VERSIONS as readonly string[]).includes(version)) throw new Invalid('version', `must be one of ${SDL_VERSIONS.join(', ')}`)
    const endpoints = own(entries(o.endpoints, 'endpoints', LIMITS.listEntries).map(([name, x]): [string, { kind: 'ip' }] => {
      const p = at('endpoints', name)
      if (!ENDPOINT_NAME_PATTERN.test(name) || name.length > LIMITS.nameLength) throw new Invalid(p, 'is not an endpoint name')
      const e = fields(x, p, ['kind'])
      text(e.kind, at(p, 'kind'), 2, { pattern: /^ip$/, what: 'ip' })
      return [name, { kind: 'ip' }]
    }))
    const seen = new Set<string>()
    const groups = list(o.groups, 'groups', MAX_GROUPS, (x, gp): GroupManifest => {
      const g = fields(x, gp, ['name', 'services'])
      const services = list(g.services, at(gp, 'services'), MAX_SERVICES_PER_GROUP, (y, sp) => {
        const s = readService(y, sp, endpoints)
        // one name space per lease: network aliases and object names
        if (seen.has(s.name)) throw new Invalid(at(sp, 'name'), `service ${s.name} appears twice in the manifest`)
        seen.add(s.name)
        return s
      }, 1)
      return { name: text(g.name, at(gp, 'name'), LIMITS.nameLength), services }
    }, 1)
    const manifest: Manifest = { version, groups, endpoints }
    checkFits(manifest, order)
    return { ok: true, manifest }
  } catch (err) {
    if (!(err instanceof Invalid)) throw err
    return { ok: false, code: err.code, path: err.path, reason: err.reason }
  }
}
