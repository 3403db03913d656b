// IPv4/IPv6 ranges a tenant's containers must not reach and an image may not be pulled from:
// the host's own networks, private and shared address space, link-local (cloud metadata lives at
// 169.254.169.254), loopback and the other special-purpose blocks. A provider may allow named
// ranges back (a private registry, a service on its LAN it sells access to).
import { isIP } from 'node:net'
import os from 'node:os'
import { SandboxConfigError } from './errors.ts'

/** blocked for lease egress and registries, IPv4 (RFC 6890 special-purpose blocks that are not global) */
export const PRIVATE_IPV4 = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8', // private
  '100.64.0.0/10', // shared address space (carrier-grade NAT, many clouds' internal networks)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local: cloud metadata services
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking
  '224.0.0.0/4', // multicast
  '240.0.0.0/4' // reserved, broadcast
] as const

/** the same for IPv6 (registry addresses; lease networks carry no IPv6) */
export const PRIVATE_IPV6 = ['::/128', '::1/128', '::ffff:0:0/96', 'fc00::/7', 'fe80::/10', 'ff00::/8'] as const

export interface Cidr { family: 4 | 6, bits: bigint, prefix: number, text: string }

function toBits (ip: string): { family: 4 | 6, bits: bigint } | undefined {
  const family = isIP(ip)
  if (family === 4) {
    const parts = ip.split('.').map(Number)
    return { family: 4, bits: parts.reduce((a, p) => (a << 8n) | BigInt(p), 0n) }
  }
  if (family === 6) {
    let text = ip.toLowerCase()
    // a trailing dotted quad (::ffff:10.0.0.1) becomes two hextets
    const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
    if (quad != null) {
      const v4 = toBits(quad[1])!.bits
      text = text.slice(0, -quad[1].length) + `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
    }
    const [head, tail] = text.split('::')
    const h = head === '' ? [] : head.split(':')
    const t = tail == null || tail === '' ? [] : tail.split(':')
    const groups = tail == null ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
    return { family: 6, bits: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n) }
  }
  return undefined
}

/** `10.0.0.0/8`, `fd00::/8`, or a single address (a /32 or /128) */
export function parseCidr (text: string): Cidr {
  const [ip, len, extra] = text.trim().split('/')
  const b = ip != null ? toBits(ip) : undefined
  const max = b?.family === 6 ? 128 : 32
  const prefix = len == null ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN
  if (b == null || extra != null || !(prefix >= 0 && prefix <= max)) throw new SandboxConfigError(`${JSON.stringify(text)} is not an IP address or CIDR range (like 10.1.0.0/16)`)
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(max - prefix)
  const bits = b.bits & mask
  // IPv4 written with its host part cleared, as iptables prints it
  return { family: b.family, bits, prefix, text: `${b.family === 4 ? v4Text(bits) : ip}/${prefix}` }
}

function v4Text (bits: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 0xffn)).join('.')
}

export function inCidr (ip: string, cidr: Cidr): boolean {
  const b = toBits(ip)
  if (b == null || b.family !== cidr.family) return false
  const max = cidr.family === 6 ? 128 : 32
  const mask = cidr.prefix === 0 ? 0n : ((1n << BigInt(cidr.prefix)) - 1n) << BigInt(max - cidr.prefix)
  return (b.bits & mask) === cidr.bits
}

const PRIVATE = [...PRIVATE_IPV4, ...PRIVATE_IPV6].map(parseCidr)

/** true for any address a tenant's traffic or pulls must not go to unless allowed */
export function isPrivateAddress (ip: string, extraBlocked: Cidr[] = []): boolean {
  const b = toBits(ip)
  if (b == null) return true
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d
  if (b.family === 6 && (b.bits >> 32n) === 0xffffn) {
    return isPrivateAddress(v4Text(b.bits & 0xffffffffn), extraBlocked)
  }
  return [...PRIVATE, ...extraBlocked].some((c) => inCidr(ip, c))
}

/**
 * The IPv4 networks this host is attached to (its LAN, say), as CIDRs: a container must not reach
 * the provider's neighbours even where their addresses are public. Docker bridges are left out:
 * they are private ranges already, and a lease's own bridge is matched by interface.
 */
export function hostNetworks (): string[] {
  const out = new Set<string>()
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (name === 'lo' || name === 'docker0' || name.startsWith('br-') || name.startsWith('veth')) continue
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4' || a.internal || a.cidr == null) continue
      out.add(parseCidr(a.cidr).text)
    }
  }
  return [...out].sort()
}
