// The state of one validation pass: every error and notice, with typed readers that record a
// problem at its path and return undefined instead of throwing, so one pass finds them all.
import type { SdlLimits } from './constants.ts'
import type { SdlIssue } from './errors.ts'
import type { SdlNotice } from './types.ts'
import type { YamlMap } from './yaml.ts'

export class Context {
  readonly errors: SdlIssue[] = []
  readonly notices: SdlNotice[] = []
  readonly limits: SdlLimits
  readonly numberSources: Map<string, string>

  constructor (limits: SdlLimits, numberSources: Map<string, string>) {
    this.limits = limits
    this.numberSources = numberSources
  }

  error (path: string, message: string): undefined {
    this.errors.push({ path, message })
    return undefined
  }

  notice (path: string, message: string): void {
    this.notices.push({ path, message })
  }

  /** the text of a scalar as written: numbers keep their source form (`2.0`, `10000.50`) */
  scalarText (value: unknown, path: string): string | undefined {
    if (typeof value === 'string') return value
    if (typeof value === 'number') return this.numberSources.get(path) ?? String(value)
    if (typeof value === 'boolean') return String(value)
    return undefined
  }
}

export function join (path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

export function isMap (v: unknown): v is YamlMap {
  return v != null && typeof v === 'object' && !Array.isArray(v)
}

export function kindOf (v: unknown): string {
  if (v === null || v === undefined) return 'empty'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a map'
  if (typeof v === 'string') return 'a string'
  if (typeof v === 'number') return 'a number'
  if (typeof v === 'boolean') return 'a boolean'
  return typeof v
}

/** A map, or undefined (recording an error) when it is something else. `null` counts as empty. */
export function readMap (ctx: Context, v: unknown, path: string, required = false): YamlMap | undefined {
  if (v === undefined || v === null) {
    if (required) return ctx.error(path, v === undefined ? 'is required' : 'must not be empty')
    return undefined
  }
  if (!isMap(v)) return ctx.error(path, `must be a map, not ${kindOf(v)}`)
  return v
}

/** Keys a section may hold. Unknown keys are kept out and reported as notices (Akash ignores many). */
export function checkKeys (ctx: Context, m: YamlMap, path: string, known: readonly string[], what = 'key'): void {
  for (const k of Object.keys(m)) {
    if (!known.includes(k)) ctx.notice(join(path, k), `unknown ${what}; ignored (known: ${known.join(', ')})`)
  }
}

export function readString (ctx: Context, v: unknown, path: string, opts: { required?: boolean, max?: number, nonEmpty?: boolean, scalar?: boolean } = {}): string | undefined {
  if (v === undefined || v === null) {
    if (opts.required === true) return ctx.error(path, 'is required')
    return undefined
  }
  let s: string | undefined
  if (typeof v === 'string') s = v
  else if (opts.scalar === true && (typeof v === 'number' || typeof v === 'boolean')) s = ctx.scalarText(v, path)
  if (s == null) return ctx.error(path, `must be a string, not ${kindOf(v)}`)
  if (opts.nonEmpty === true && s.trim() === '') return ctx.error(path, 'must not be empty')
  const max = opts.max ?? ctx.limits.maxStringLength
  if (s.length > max) return ctx.error(path, `must be at most ${max} characters`)
  return s
}

/** An integer in [min, max]; numeric strings (`"80"`) are accepted, as Akash's YAML decoder does. */
export function readInt (ctx: Context, v: unknown, path: string, min: number, max: number, opts: { required?: boolean } = {}): number | undefined {
  if (v === undefined || v === null) {
    if (opts.required === true) return ctx.error(path, 'is required')
    return undefined
  }
  let n: number | undefined
  if (typeof v === 'number') n = v
  else if (typeof v === 'string' && /^\s*[0-9]+\s*$/.test(v)) n = Number(v)
  if (n == null || !Number.isSafeInteger(n) || n < min || n > max) return ctx.error(path, `must be an integer ${min}-${max}`)
  return n
}

const TRUE = ['true', 'yes', 'on']
const FALSE = ['false', 'no', 'off']

/** A boolean; the strings true/false (and YAML 1.1's yes/no/on/off) are accepted, as Akash's decoder does. */
export function readBool (ctx: Context, v: unknown, path: string, dflt: boolean): boolean | undefined {
  if (v === undefined || v === null) return dflt
  if (typeof v === 'boolean') return v
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase()
    if (TRUE.includes(s)) return true
    if (FALSE.includes(s)) return false
  }
  return ctx.error(path, `must be true or false, not ${kindOf(v) === 'a string' ? JSON.stringify(v) : kindOf(v)}`)
}

/** A list of strings. Numbers and booleans are taken as written (Akash's decoder does the same). */
export function readStringList (ctx: Context, v: unknown, path: string, max: number, opts: { itemMax?: number, allowSingle?: boolean } = {}): string[] | undefined {
  if (v === undefined || v === null) return undefined
  let list: unknown[]
  if (Array.isArray(v)) list = v
  else if (opts.allowSingle === true && typeof v === 'string') {
    ctx.notice(path, 'a single string where a list is expected; read as a list of one')
    list = [v]
  } else return ctx.error(path, `must be a list, not ${kindOf(v)}`)
  if (list.length > max) return ctx.error(path, `must have at most ${max} entries`)
  const out: string[] = []
  let ok = true
  list.forEach((item, i) => {
    const s = readString(ctx, item, `${path}[${i}]`, { scalar: true, max: opts.itemMax })
    if (s == null) {
      if (item === null || item === undefined) ctx.error(`${path}[${i}]`, 'must not be empty')
      ok = false
    } else out.push(s)
  })
  return ok ? out : undefined
}

/** A name used as a key (profile, placement, volume): non-empty and bounded. */
export function checkName (ctx: Context, name: string, path: string): boolean {
  if (name.trim() === '') { ctx.error(path, 'a name must not be empty'); return false }
  if (name.length > ctx.limits.maxNameLength) { ctx.error(path, `a name must be at most ${ctx.limits.maxNameLength} characters`); return false }
  return true
}
