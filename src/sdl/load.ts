// The front door: text → validated deployment, or an error that lists every problem.
import { readFile, stat } from 'node:fs/promises'
import { DEFAULT_LIMITS, SDL_VERSIONS } from './constants.ts'
import type { SdlLimits } from './constants.ts'
import { Context, checkKeys, isMap, join, readMap } from './context.ts'
import { buildDeployment } from './deployment.ts'
import { readEndpoints } from './endpoints.ts'
import { SdlLimitError, SdlValidationError } from './errors.ts'
import { manifestHash } from './canonical.ts'
import { readCompute, readPlacements } from './profiles.ts'
import { readServices } from './services.ts'
import type { LoadedSdl, Manifest } from './types.ts'
import { readYaml } from './yaml.ts'
import type { YamlMap } from './yaml.ts'

export interface LoadSdlOptions {
  /** override some limits (see DEFAULT_LIMITS) */
  limits?: Partial<SdlLimits>
}

const TOP_KEYS = ['version', 'services', 'profiles', 'deployment', 'endpoints'] as const
const PROFILE_KEYS = ['compute', 'placement'] as const
/** sections that a slip of indentation can put inside `services` */
const LIFTABLE = ['profiles', 'deployment', 'endpoints'] as const

function limitsOf (opts?: LoadSdlOptions): SdlLimits {
  return { ...DEFAULT_LIMITS, ...(opts?.limits ?? {}) }
}

/**
 * Parse and validate an Akash SDL (v2.0 / v2.1) deployment file.
 * Throws SdlParseError (ERR_SDL_PARSE) for YAML syntax, SdlLimitError (ERR_SDL_LIMIT) for a file
 * over a limit, and SdlValidationError (ERR_SDL_INVALID) listing every problem found.
 */
export function loadSdl (text: string, opts?: LoadSdlOptions): LoadedSdl {
  if (typeof text !== 'string') throw new TypeError('loadSdl expects the file text as a string')
  const limits = limitsOf(opts)
  const tree = readYaml(text, limits)
  const ctx = new Context(limits, tree.numberSources)
  ctx.errors.push(...tree.errors)
  ctx.notices.push(...tree.notices)

  const root = readMap(ctx, tree.value, '(file)', true)
  if (root == null) throw new SdlValidationError(ctx.errors.length > 0 ? ctx.errors : [{ path: '(file)', message: 'is empty' }], ctx.notices)
  liftMisplacedSections(ctx, root)
  checkKeys(ctx, root, '', TOP_KEYS, 'top-level key')

  const version = readVersion(ctx, root.version)
  const endpoints = readEndpoints(ctx, root.endpoints)
  const serviceNames = isMap(root.services) ? new Set(Object.keys(root.services)) : new Set<string>()
  const services = readServices(ctx, root.services, { services: serviceNames, endpoints: new Set(Object.keys(endpoints)) })

  const profiles = readMap(ctx, root.profiles, 'profiles', true)
  if (profiles != null) checkKeys(ctx, profiles, 'profiles', PROFILE_KEYS)
  const compute = readCompute(ctx, profiles?.compute, 'profiles.compute')
  const placements = readPlacements(ctx, profiles?.placement, 'profiles.placement', compute)

  const built = buildDeployment(ctx, root.deployment, services, compute, placements, endpoints)
  const { totals } = built
  for (const [what, value] of [['cpu', totals.cpu], ['memory', totals.memory], ...Object.entries(totals.storage).map(([c, v]) => [`storage ${c}`, v])] as Array<[string, number]>) {
    if (!Number.isSafeInteger(value)) ctx.error('deployment', `the total ${what} is too large to count exactly`)
  }

  if (ctx.errors.length > 0 || version == null) {
    throw new SdlValidationError(ctx.errors.length > 0 ? ctx.errors : [{ path: 'version', message: 'is required' }], ctx.notices)
  }
  const manifest: Manifest = { version, groups: built.groups, endpoints }
  return {
    manifest,
    groups: built.resourceGroups,
    totals,
    notices: ctx.notices,
    manifestHash: manifestHash(manifest)
  }
}

/** Read a file (refusing one over the size limit before reading it) and load it. */
export async function loadSdlFile (path: string, opts?: LoadSdlOptions): Promise<LoadedSdl> {
  const limits = limitsOf(opts)
  const st = await stat(path)
  if (st.size > limits.maxBytes) throw new SdlLimitError('bytes', limits.maxBytes, `the file is ${st.size} bytes; the limit is ${limits.maxBytes}`)
  return loadSdl(await readFile(path, 'utf8'), opts)
}

function readVersion (ctx: Context, v: unknown): string | undefined {
  if (v === undefined || v === null) return ctx.error('version', 'is required ("2.0")')
  const text = ctx.scalarText(v, 'version')
  if (text == null || !(SDL_VERSIONS as readonly string[]).includes(text.trim())) {
    return ctx.error('version', `must be ${SDL_VERSIONS.map((s) => JSON.stringify(s)).join(' or ')}, not ${text != null ? JSON.stringify(text) : 'a ' + typeof v}`)
  }
  return text.trim()
}

/**
 * `profiles`, `deployment` or `endpoints` indented under `services` (a published file does
 * this) read as a service with no image. When the top level lacks the section and the entry is
 * plainly that section, lift it back, and say so.
 */
function liftMisplacedSections (ctx: Context, root: YamlMap): void {
  const services = root.services
  if (!isMap(services)) return
  for (const key of LIFTABLE) {
    const entry = services[key]
    if (root[key] !== undefined || !isMap(entry) || 'image' in entry) continue
    const looksRight = key === 'profiles'
      ? Object.keys(entry).some((k) => k === 'compute' || k === 'placement')
      : key === 'deployment'
        ? Object.values(entry).every((v) => isMap(v) && Object.values(v).every((x) => isMap(x) && ('profile' in x || 'count' in x)))
        : Object.values(entry).every((v) => isMap(v) && 'kind' in v)
    if (!looksRight) continue
    root[key] = entry
    delete services[key]
    ctx.notice(join('services', key), `is the top-level ${key} section indented under services; read it as top-level`)
  }
}
