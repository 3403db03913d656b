// Five regions and the round trips between them, for the `continents` profile.
//
// Source: average round-trip times between AWS regions, "Latency Between AWS Global Regions"
// (cloudping measurements), as tabulated in
// https://acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html
// (FROM/TO table, average latency in ms; where the two directions differ by a millisecond or two,
// the larger is taken). Inside one region the table has no figure; 2 ms stands for traffic between
// availability zones, which https://www.xkyle.com/Measuring-AWS-Region-and-AZ-Latency/ measured
// at 0.25 to 3.4 ms.
import { WanError, WanErrorCode } from './errors.ts'

export const REGIONS = ['us-east', 'us-west', 'eu-central', 'ap-northeast', 'sa-east'] as const
export type Region = typeof REGIONS[number]

/** where each region's figures come from */
export const REGION_SITES: Record<Region, string> = {
  'us-east': 'AWS us-east-1, N. Virginia',
  'us-west': 'AWS us-west-2, Oregon',
  'eu-central': 'AWS eu-central-1, Frankfurt',
  'ap-northeast': 'AWS ap-northeast-1, Tokyo',
  'sa-east': 'AWS sa-east-1, São Paulo'
}

export const INTRA_REGION_RTT_MS = 2

// round trip in ms, upper triangle of the table above, in REGIONS order
const RTT: Record<string, number> = {
  'us-east|us-west': 88.7,
  'us-east|eu-central': 88.7,
  'us-east|ap-northeast': 145.3,
  'us-east|sa-east': 119.5,
  'us-west|eu-central': 159.5,
  'us-west|ap-northeast': 89.2,
  'us-west|sa-east': 182.7,
  'eu-central|ap-northeast': 236.6,
  'eu-central|sa-east': 194.9,
  'ap-northeast|sa-east': 256.8
}

export function isRegion (r: unknown): r is Region {
  return typeof r === 'string' && (REGIONS as readonly string[]).includes(r)
}

export function checkRegion (r: unknown, what = 'region'): Region {
  if (!isRegion(r)) throw new WanError(WanErrorCode.UNKNOWN_REGION, `${what} ${JSON.stringify(r)} is not one of ${REGIONS.join(', ')}`)
  return r
}

/** The round trip between two regions, ms (symmetric). */
export function regionRttMs (a: Region, b: Region): number {
  checkRegion(a)
  checkRegion(b)
  if (a === b) return INTRA_REGION_RTT_MS
  const i = REGIONS.indexOf(a)
  const j = REGIONS.indexOf(b)
  return RTT[i < j ? `${a}|${b}` : `${b}|${a}`]
}

/** The i-th node's region when nodes are spread evenly (round robin). */
export function spreadRegion (i: number): Region {
  return REGIONS[((i % REGIONS.length) + REGIONS.length) % REGIONS.length]
}
