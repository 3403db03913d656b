// Which images a deployment may run. Two rules:
// - a private image (one pulled with a tenant's registry credentials) is run only for a
//   deployment that proves access to it: with credentials the image is always pulled (the
//   registry checks them), without credentials a local image that was pulled privately must be
//   pulled again anonymously, which fails unless it is public after all;
// - an image is never pulled from a registry on a private, loopback or link-local address
//   (the provider's own network) unless the provider allows that registry.
import { lookup } from 'node:dns/promises'
import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import { inCidr, isPrivateAddress, parseCidr } from './address-ranges.ts'
import type { Cidr } from './address-ranges.ts'
import { ImageRefusedError, ImageUnavailableError } from './errors.ts'
import { errorCode, errorMessage } from '../util/index.ts'

/** the repository of the marker tag a privately pulled image carries on this engine */
export const PRIVATE_IMAGE_REPO = 'souk-private'
export const DEFAULT_REGISTRY = 'docker.io'

/** `souk-private:<sha256 of the reference>`: set on an image pulled with credentials */
export function privateMarker (image: string): { repo: string, tag: string } {
  return { repo: PRIVATE_IMAGE_REPO, tag: createHash('sha256').update(image).digest('hex') }
}

export function isPrivateMarker (repoTag: string): boolean {
  return repoTag.startsWith(`${PRIVATE_IMAGE_REPO}:`)
}

/**
 * The registry an image reference names, by Docker's rule: the first path component is a
 * registry when it has a `.` or a `:`, or is `localhost`; otherwise the image is on Docker Hub.
 */
export function registryOf (image: string): { host: string, port?: number, address: string } {
  const name = image.split('@')[0]
  const slash = name.indexOf('/')
  const first = slash < 0 ? '' : name.slice(0, slash)
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first === first.toLowerCase() && !first.startsWith('['))) {
    return { host: DEFAULT_REGISTRY, address: DEFAULT_REGISTRY }
  }
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(first)
  if (v6 != null) return { host: v6[1], address: first, ...(v6[2] != null ? { port: Number(v6[2]) } : {}) }
  const [host, port] = first.split(':')
  return { host: host.toLowerCase(), address: first, ...(port != null ? { port: Number(port) } : {}) }
}

export interface RegistryPolicyInit {
  /** registries allowed although private: host names (`registry.lan`, `registry.lan:5000`) or CIDRs */
  allow?: string[]
  /** more ranges no registry may be in */
  block?: string[]
  /** resolves a host name to its addresses; the system resolver by default */
  resolve?: (host: string) => Promise<string[]>
}

export interface RegistryPolicy {
  /** throws ImageRefusedError when the image's registry is on a private network and not allowed */
  check: (image: string) => Promise<void>
}

export function registryPolicy (init: RegistryPolicyInit = {}): RegistryPolicy {
  const names = new Set<string>()
  const ranges: Cidr[] = []
  for (const a of init.allow ?? []) {
    if (/^[0-9a-fA-F:.]+(\/\d+)?$/.test(a) && isIP(a.split('/')[0]) !== 0) ranges.push(parseCidr(a))
    else names.add(a.toLowerCase())
  }
  const block = (init.block ?? []).map((c) => parseCidr(c))
  const resolve = init.resolve ?? (async (host: string) => (await lookup(host, { all: true, verbatim: true })).map((r) => r.address))

  const allowedAddress = (ip: string): boolean => !isPrivateAddress(ip, block) || ranges.some((r) => inCidr(ip, r))

  return {
    async check (image) {
      const r = registryOf(image)
      if (r.host === DEFAULT_REGISTRY) return
      if (names.has(r.host) || names.has(r.address.toLowerCase())) return
      let addresses: string[]
      if (isIP(r.host) !== 0) addresses = [r.host]
      else {
        try {
          addresses = await resolve(r.host)
        } catch (err) {
          throw new ImageUnavailableError(image, `the registry ${r.host} does not resolve (${errorCode(err) ?? errorMessage(err)})`, err)
        }
      }
      const bad = addresses.find((a) => !allowedAddress(a))
      if (bad != null || addresses.length === 0) {
        throw new ImageRefusedError(image, `the registry ${r.address} is on a private, loopback or link-local address (${bad ?? 'none'}); this provider pulls only from public registries and those it allows (provider.sandbox.allowRegistries)`)
      }
    }
  }
}
