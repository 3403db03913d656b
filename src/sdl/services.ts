// `services`: what each container runs and how it is reached.
import { HTTP_OPTION_LIMITS, NEXT_CASES, SERVICE_NAME_PATTERN, TEE_KINDS, TEE_TYPES } from './constants.ts'
import { Context, checkKeys, isMap, join, kindOf, readBool, readInt, readMap, readString, readStringList } from './context.ts'
import type { Expose, ExposeTo, HttpOptions, ServiceCredentials, ServiceVolumeParams } from './types.ts'
import type { YamlMap } from './yaml.ts'

/** A service as written, before it is joined with its profile and count. */
export interface ParsedService {
  name: string
  path: string
  image: string
  command?: string[]
  args?: string[]
  env: string[]
  expose: Expose[]
  storage: ServiceVolumeParams
  /** `params.tee`, as the placement attribute value it becomes (`cpu-gpu`, `sev-snp`, …) */
  tee?: string
  credentials?: ServiceCredentials
  dependencies?: string[]
  /** false when the service has errors: it is still cross-checked, but not built */
  valid: boolean
}

const SERVICE_KEYS = ['image', 'command', 'args', 'env', 'expose', 'params', 'credentials', 'dependencies'] as const
const EXPOSE_KEYS = ['port', 'as', 'proto', 'to', 'accept', 'http_options'] as const
const TO_KEYS = ['service', 'global', 'ip'] as const
const HTTP_KEYS = ['max_body_size', 'read_timeout', 'send_timeout', 'next_tries', 'next_timeout', 'next_cases'] as const
const PARAMS_KEYS = ['storage', 'tee'] as const
const TEE_KEYS = ['type'] as const
const VOLUME_PARAM_KEYS = ['mount', 'readOnly'] as const
const CREDENTIAL_KEYS = ['host', 'email', 'username', 'password'] as const
const MAX_IMAGE_LENGTH = 1024
const UINT32 = 0xffffffff
const HOSTNAME = /^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

export interface ServiceRefs {
  /** every service name in the file */
  services: Set<string>
  /** every endpoint name in the file */
  endpoints: Set<string>
}

/**
 * Reads `services`. The result has a key for every service that was written, with `undefined`
 * for one that is not even a map, so cross references can still tell "missing" from "invalid".
 */
export function readServices (ctx: Context, v: unknown, refs: ServiceRefs): Map<string, ParsedService | undefined> {
  const out = new Map<string, ParsedService | undefined>()
  const m = readMap(ctx, v, 'services', true)
  if (m == null) return out
  const names = Object.keys(m)
  if (names.length === 0) ctx.error('services', 'must name at least one service')
  if (names.length > ctx.limits.maxServices) {
    ctx.error('services', `must have at most ${ctx.limits.maxServices} services`)
    return out
  }
  // ports of ip endpoints: one (endpoint, port, proto) may be used once
  const ipPorts = new Map<string, string>()
  for (const name of names) out.set(name, readService(ctx, name, m[name], refs, ipPorts))
  return out
}

function readService (ctx: Context, name: string, v: unknown, refs: ServiceRefs, ipPorts: Map<string, string>): ParsedService | undefined {
  const path = join('services', name)
  const before = ctx.errors.length
  if (!SERVICE_NAME_PATTERN.test(name)) {
    ctx.error(path, 'a service name must be lowercase letters, digits and dashes, start with a letter, not end with a dash, and be at most 63 characters')
  }
  const m = readMap(ctx, v, path, true)
  if (m == null) return undefined
  checkKeys(ctx, m, path, SERVICE_KEYS)

  const image = readString(ctx, m.image, join(path, 'image'), { required: true, nonEmpty: true, max: MAX_IMAGE_LENGTH })
  if (image != null && /\s/.test(image)) ctx.error(join(path, 'image'), 'must not contain white space')
  const command = readStringList(ctx, m.command, join(path, 'command'), ctx.limits.maxArgs)
  const args = readStringList(ctx, m.args, join(path, 'args'), ctx.limits.maxArgs)
  const env = readEnv(ctx, m.env, join(path, 'env'))
  const expose = readExposes(ctx, m.expose, join(path, 'expose'), name, refs, ipPorts)
  const storage = readParams(ctx, m.params, join(path, 'params'))
  const tee = isMap(m.params) && m.params.tee !== undefined ? readTee(ctx, m.params.tee, join(path, 'params.tee')) : undefined
  const credentials = m.credentials === undefined ? undefined : readCredentials(ctx, m.credentials, join(path, 'credentials'))
  const dependencies = readDependencies(ctx, m.dependencies, join(path, 'dependencies'), name, refs)

  const svc: ParsedService = { name, path, image: image ?? '', env, expose, storage, valid: ctx.errors.length === before && image != null }
  if (command != null) svc.command = command
  if (args != null) svc.args = args
  if (tee != null) svc.tee = tee
  if (credentials != null) svc.credentials = credentials
  if (dependencies != null && dependencies.length > 0) svc.dependencies = dependencies
  return svc
}

function readEnv (ctx: Context, v: unknown, path: string): string[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) {
    ctx.error(path, `must be a list of KEY=VALUE strings, not ${kindOf(v)}`)
    return []
  }
  if (v.length > ctx.limits.maxEnv) {
    ctx.error(path, `must have at most ${ctx.limits.maxEnv} entries`)
    return []
  }
  const out: string[] = []
  v.forEach((item, i) => {
    const p = `${path}[${i}]`
    if (isMap(item) || Array.isArray(item)) {
      ctx.error(p, `must be a string KEY=VALUE, not ${kindOf(item)}`)
      return
    }
    const s = readString(ctx, item, p, { scalar: true, required: true })
    if (s == null) return
    const eq = s.indexOf('=')
    if (eq === 0) ctx.error(p, 'has no name before "="')
    else if (eq < 0) ctx.notice(p, `${JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s)} has no "=": the variable is set without a value`)
    out.push(s)
  })
  return out
}

function readExposes (ctx: Context, v: unknown, path: string, service: string, refs: ServiceRefs, ipPorts: Map<string, string>): Expose[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) {
    ctx.error(path, `must be a list, not ${kindOf(v)}`)
    return []
  }
  if (v.length > ctx.limits.maxExpose) {
    ctx.error(path, `must have at most ${ctx.limits.maxExpose} entries`)
    return []
  }
  const out: Expose[] = []
  v.forEach((item, i) => {
    const e = readExpose(ctx, item, `${path}[${i}]`, service, refs, ipPorts)
    if (e != null) out.push(e)
  })
  return out
}

function readExpose (ctx: Context, v: unknown, path: string, service: string, refs: ServiceRefs, ipPorts: Map<string, string>): Expose | undefined {
  const m = readMap(ctx, v, path, true)
  if (m == null) return undefined
  checkKeys(ctx, m, path, EXPOSE_KEYS)
  const before = ctx.errors.length
  const port = readInt(ctx, m.port, join(path, 'port'), 1, 65535, { required: true })
  const as = readInt(ctx, m.as, join(path, 'as'), 1, 65535) ?? port
  let proto: 'tcp' | 'udp' = 'tcp'
  const protoText = readString(ctx, m.proto, join(path, 'proto'))
  if (protoText != null) {
    const p = protoText.trim().toLowerCase()
    if (p === 'tcp' || p === 'udp') proto = p
    else ctx.error(join(path, 'proto'), `must be tcp or udp, not ${JSON.stringify(protoText)}`)
  }
  const to = readTo(ctx, m.to, join(path, 'to'), refs)
  const accept = readStringList(ctx, m.accept, join(path, 'accept'), ctx.limits.maxListEntries) ?? []
  accept.forEach((host, i) => {
    if (!HOSTNAME.test(host) || host.length > 253) ctx.error(`${path}.accept[${i}]`, `${JSON.stringify(host)} is not a host name`)
  })
  const httpOptions = m.http_options === undefined ? undefined : readHttpOptions(ctx, m.http_options, join(path, 'http_options'))

  if (port == null || as == null || ctx.errors.length > before) return undefined
  to.forEach((t, j) => {
    if (t.ip == null) return
    const key = `${t.ip}\0${as}\0${proto}`
    const other = ipPorts.get(key)
    if (other != null) ctx.error(`${path}.to[${j}].ip`, `endpoint ${JSON.stringify(t.ip)} port ${as}/${proto} is already used by ${other}`)
    else ipPorts.set(key, path)
  })
  const e: Expose = { port, as, proto, to, accept }
  if (httpOptions != null) e.httpOptions = httpOptions
  return e
}

function readTo (ctx: Context, v: unknown, path: string, refs: ServiceRefs): ExposeTo[] {
  if (v === undefined || v === null) return []
  let list: unknown[]
  if (Array.isArray(v)) list = v
  else if (isMap(v)) {
    ctx.notice(path, 'a single map where a list is expected; read as a list of one')
    list = [v]
  } else {
    ctx.error(path, `must be a list, not ${kindOf(v)}`)
    return []
  }
  if (list.length > ctx.limits.maxListEntries) {
    ctx.error(path, `must have at most ${ctx.limits.maxListEntries} entries`)
    return []
  }
  const out: ExposeTo[] = []
  list.forEach((item, j) => {
    const p = Array.isArray(v) ? `${path}[${j}]` : path
    const m = readMap(ctx, item, p, true)
    if (m == null) return
    checkKeys(ctx, m, p, TO_KEYS)
    let target = readString(ctx, m.service, join(p, 'service'), { nonEmpty: true })
    if (target != null && !refs.services.has(target)) {
      // `service: web,` — a list separator left behind when a flow list became a block list
      const trimmed = target.replace(/[\s,;]+$/, '')
      if (trimmed !== target && refs.services.has(trimmed)) {
        ctx.notice(join(p, 'service'), `${JSON.stringify(target)} read as ${JSON.stringify(trimmed)} (trailing punctuation dropped)`)
        target = trimmed
      }
    }
    const global = readBool(ctx, m.global, join(p, 'global'), false)
    const ip = readString(ctx, m.ip, join(p, 'ip'), { nonEmpty: true })
    if (target != null && !refs.services.has(target)) ctx.error(join(p, 'service'), `no service named ${JSON.stringify(target)} under services`)
    if (ip != null) {
      if (!refs.endpoints.has(ip)) ctx.error(join(p, 'ip'), `no endpoint named ${JSON.stringify(ip)} under endpoints`)
      if (global !== true) ctx.error(join(p, 'ip'), 'an ip endpoint needs global: true')
      ctx.notice(join(p, 'ip'), `asks for the dedicated IP endpoint ${JSON.stringify(ip)}; only providers that lease IP addresses can honour it`)
    }
    if (m.service === undefined && m.ip === undefined && m.global === undefined) {
      ctx.notice(p, 'names no service, no global: true and no ip: this entry exposes the port to nothing')
    }
    if (global == null) return
    const t: ExposeTo = { global }
    if (target != null) t.service = target
    if (ip != null) t.ip = ip
    out.push(t)
  })
  return out
}

function readHttpOptions (ctx: Context, v: unknown, path: string): HttpOptions | undefined {
  if (v === null) return undefined
  const m = readMap(ctx, v, path)
  if (m == null) return undefined
  checkKeys(ctx, m, path, HTTP_KEYS)
  const o: HttpOptions = {}
  const int = (key: string): number | undefined => readInt(ctx, m[key], join(path, key), 0, UINT32)
  const maxBodySize = int('max_body_size')
  const readTimeout = int('read_timeout')
  const sendTimeout = int('send_timeout')
  const nextTries = int('next_tries')
  const nextTimeout = int('next_timeout')
  if (maxBodySize != null) o.maxBodySize = maxBodySize
  if (readTimeout != null) o.readTimeout = readTimeout
  if (sendTimeout != null) o.sendTimeout = sendTimeout
  if (nextTries != null) o.nextTries = nextTries
  if (nextTimeout != null) o.nextTimeout = nextTimeout
  const over = (key: string, value: number | undefined, limit: number, unit: string): void => {
    if (value != null && value > limit) ctx.notice(join(path, key), `${value} is above Akash's limit of ${limit} ${unit}; providers may refuse or lower it`)
  }
  over('max_body_size', maxBodySize, HTTP_OPTION_LIMITS.maxBodySize, 'bytes')
  over('read_timeout', readTimeout, HTTP_OPTION_LIMITS.readTimeout, 'ms')
  over('send_timeout', sendTimeout, HTTP_OPTION_LIMITS.sendTimeout, 'ms')
  const cases = readStringList(ctx, m.next_cases, join(path, 'next_cases'), NEXT_CASES.length)
  if (cases != null) {
    let ok = true
    cases.forEach((c, i) => {
      if (!(NEXT_CASES as readonly string[]).includes(c)) {
        ctx.error(`${path}.next_cases[${i}]`, `${JSON.stringify(c)} is not a next case (one of ${NEXT_CASES.join(', ')})`)
        ok = false
      }
    })
    if (ok && cases.includes('off') && cases.length > 1) {
      ctx.error(join(path, 'next_cases'), '"off" cannot be combined with other cases')
      ok = false
    }
    if (ok) o.nextCases = cases
  }
  return o
}

function readParams (ctx: Context, v: unknown, path: string): ServiceVolumeParams {
  const out: ServiceVolumeParams = {}
  const m = readMap(ctx, v, path)
  if (m == null) return out
  checkKeys(ctx, m, path, PARAMS_KEYS)
  const storage = readMap(ctx, m.storage, join(path, 'storage'))
  if (storage == null) return out
  const names = Object.keys(storage)
  if (names.length > ctx.limits.maxVolumes) {
    ctx.error(join(path, 'storage'), `must have at most ${ctx.limits.maxVolumes} volumes`)
    return out
  }
  const mounts = new Map<string, string>()
  for (const name of names) {
    const p = join(join(path, 'storage'), name)
    const vm = readMap(ctx, storage[name], p, true)
    if (vm == null) continue
    checkKeys(ctx, vm, p, VOLUME_PARAM_KEYS)
    const mount = readString(ctx, vm.mount, join(p, 'mount'), { required: true, max: 4096 })
    const readOnly = readBool(ctx, vm.readOnly, join(p, 'readOnly'), false)
    if (mount == null || readOnly == null) continue
    if (!mount.startsWith('/')) {
      ctx.error(join(p, 'mount'), `must be an absolute path, not ${JSON.stringify(mount)}`)
      continue
    }
    const other = mounts.get(mount)
    if (other != null) {
      ctx.error(join(p, 'mount'), `${mount} is already the mount of volume ${JSON.stringify(other)}`)
      continue
    }
    mounts.set(mount, name)
    Object.defineProperty(out, name, { value: { mount, readOnly }, enumerable: true, writable: true, configurable: true })
  }
  return out
}

/**
 * `params.tee: cpu | cpu-gpu`, or `params.tee: { type: sev-snp | sev-snp-gpu | tdx | tdx-gpu }`.
 * A value souk does not know is an error, never a notice: ignoring it would place a workload that
 * asked for confidential computing on any provider.
 */
function readTee (ctx: Context, v: unknown, path: string): string | undefined {
  if (isMap(v)) {
    checkKeys(ctx, v, path, TEE_KEYS)
    const t = readString(ctx, v.type, join(path, 'type'), { required: true, max: 64 })
    if (t == null) return undefined
    if (!(TEE_TYPES as readonly string[]).includes(t)) return ctx.error(join(path, 'type'), `must be one of ${TEE_TYPES.join(', ')}, not ${JSON.stringify(t)}`)
    return t
  }
  const t = readString(ctx, v, path, { required: true, max: 64 })
  if (t == null) return undefined
  if (!(TEE_KINDS as readonly string[]).includes(t)) {
    return ctx.error(path, `must be ${TEE_KINDS.join(' or ')} (or a map with type: ${TEE_TYPES.join(', ')}), not ${JSON.stringify(t)}`)
  }
  return t
}

function readCredentials (ctx: Context, v: unknown, path: string): ServiceCredentials | undefined {
  const m = readMap(ctx, v, path, true)
  if (m == null) return undefined
  checkKeys(ctx, m, path, CREDENTIAL_KEYS)
  const host = readString(ctx, m.host, join(path, 'host'), { required: true, nonEmpty: true, max: 1024 })
  const email = readString(ctx, m.email, join(path, 'email'), { max: 1024 })
  const username = readString(ctx, m.username, join(path, 'username'), { required: true, nonEmpty: true, max: 1024, scalar: true })
  const password = readString(ctx, m.password, join(path, 'password'), { required: true, nonEmpty: true, max: 16 * 1024, scalar: true })
  if (host == null || username == null || password == null) return undefined
  const c: ServiceCredentials = { host, username, password }
  if (email != null && email !== '') c.email = email
  return c
}

/** Akash's form is a list of `{ service: name }`; plain names are accepted too. */
function readDependencies (ctx: Context, v: unknown, path: string, service: string, refs: ServiceRefs): string[] | undefined {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v)) return ctx.error(path, `must be a list, not ${kindOf(v)}`)
  if (v.length > ctx.limits.maxListEntries) return ctx.error(path, `must have at most ${ctx.limits.maxListEntries} entries`)
  const out: string[] = []
  v.forEach((item, i) => {
    const p = `${path}[${i}]`
    let name: string | undefined
    let namePath = p
    if (isMap(item)) {
      checkKeys(ctx, item as YamlMap, p, ['service'])
      namePath = join(p, 'service')
      name = readString(ctx, item.service, namePath, { required: true, nonEmpty: true })
    } else {
      name = readString(ctx, item, p, { required: true, nonEmpty: true })
    }
    if (name == null) return
    if (!refs.services.has(name)) ctx.error(namePath, `no service named ${JSON.stringify(name)} under services`)
    else if (name === service) ctx.error(namePath, 'a service cannot depend on itself')
    else if (out.includes(name)) ctx.notice(namePath, `${name} is listed twice`)
    else out.push(name)
  })
  return out
}
