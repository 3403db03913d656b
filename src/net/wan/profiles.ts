// WAN profiles: what a link between two regions looks like. A link is one direction of a TCP
// connection; the two directions of a connection are drawn independently.
import { MIN_RTO_MS } from './constants.ts'
import { WanError, WanErrorCode } from './errors.ts'
import { checkRegion, regionRttMs } from './regions.ts'
import type { Region } from './regions.ts'

export interface LinkParams {
  /** one-way propagation delay, ms */
  delayMs: number
  /** each chunk's delay varies uniformly by up to ± this, ms; bytes are never reordered (TCP) */
  jitterMs: number
  /** probability that one TCP segment is lost (0 to 1); a loss costs `rtoMs`, doubling per repeat */
  loss: number
  /** retransmission timeout, ms */
  rtoMs: number
  /** bits per second in this direction; 0 for no cap */
  bandwidthBps: number
}

export interface WanProfile {
  readonly name: ProfileName
  readonly description: string
  /** the link carrying bytes from a node in `from` to a node in `to` */
  link: (from: Region, to: Region) => LinkParams
}

export const PROFILE_NAMES = ['lan', 'continents', 'lossy'] as const
export type ProfileName = typeof PROFILE_NAMES[number]

const MBIT = 1_000_000

/** Linux: RTO = SRTT + max(4·RTTVAR, rto_min); a stable path has RTTVAR well under rto_min */
const rtoFor = (rttMs: number): number => rttMs + MIN_RTO_MS

const lan: WanProfile = {
  name: 'lan',
  description: 'one data centre: 0.5 ms round trips, no loss, 1 Gbit/s per direction',
  link: (from, to) => { checkRegion(from); checkRegion(to); return { delayMs: 0.25, jitterMs: 0.05, loss: 0, rtoMs: rtoFor(0.5), bandwidthBps: 1000 * MBIT } }
}

const continents: WanProfile = {
  name: 'continents',
  description: 'five regions with round trips between AWS regions (2 to 257 ms), jitter 5 % of the delay, 0.1 % segment loss, 100 Mbit/s per direction',
  link: (from, to) => {
    const rtt = regionRttMs(from, to)
    return { delayMs: rtt / 2, jitterMs: Math.max(0.2, 0.05 * rtt / 2), loss: 0.001, rtoMs: rtoFor(rtt), bandwidthBps: 100 * MBIT }
  }
}

const lossy: WanProfile = {
  name: 'lossy',
  description: 'the continents round trips over poor paths: jitter 15 % of the delay, 2 % segment loss, 10 Mbit/s per direction',
  link: (from, to) => {
    const rtt = regionRttMs(from, to)
    return { delayMs: rtt / 2, jitterMs: Math.max(1, 0.15 * rtt / 2), loss: 0.02, rtoMs: rtoFor(rtt), bandwidthBps: 10 * MBIT }
  }
}

export const PROFILES: Record<ProfileName, WanProfile> = { lan, continents, lossy }

export function wanProfile (name: unknown): WanProfile {
  if (typeof name !== 'string' || !(PROFILE_NAMES as readonly string[]).includes(name)) {
    throw new WanError(WanErrorCode.UNKNOWN_PROFILE, `WAN profile ${JSON.stringify(name)} is not one of ${PROFILE_NAMES.join(', ')}`)
  }
  return PROFILES[name as ProfileName]
}

/** Throws a WanError naming the first impossible value. */
export function checkLinkParams (p: LinkParams): LinkParams {
  const bad = (field: keyof LinkParams, rule: string): never => { throw new WanError(WanErrorCode.BAD_LINK, `link ${field} ${JSON.stringify(p?.[field])} ${rule}`) }
  if (p == null || typeof p !== 'object') throw new WanError(WanErrorCode.BAD_LINK, 'link parameters must be an object')
  const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
  if (!finite(p.delayMs) || p.delayMs < 0 || p.delayMs > 60_000) bad('delayMs', 'must be 0 to 60000')
  if (!finite(p.jitterMs) || p.jitterMs < 0 || p.jitterMs > p.delayMs + 1) bad('jitterMs', 'must be 0 to delayMs + 1')
  if (!finite(p.loss) || p.loss < 0 || p.loss >= 0.5) bad('loss', 'must be from 0 to below 0.5')
  if (!finite(p.rtoMs) || p.rtoMs < 1 || p.rtoMs > 120_000) bad('rtoMs', 'must be 1 to 120000')
  if (!finite(p.bandwidthBps) || p.bandwidthBps < 0) bad('bandwidthBps', 'must be 0 (no cap) or more')
  if (p.bandwidthBps > 0 && p.bandwidthBps < 8_000) bad('bandwidthBps', 'must be at least 8000 (1 KB/s) when capped')
  return p
}
