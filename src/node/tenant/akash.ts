// Akash deployment files name auditors by account address; a souk auditor is a key.
import type { LoadedSdl } from '../../sdl/index.ts'

const AKASH_ADDRESS = /^akash1[02-9ac-hj-np-z]{38,58}$/

/**
 * Akash files name auditors by account address; a souk auditor is a key. The tenant's map
 * (tenant.akashAuditors) puts the souk key in the order instead; the notices say which addresses
 * were mapped and which are left, with the line to add to souk.yaml.
 */
export function mapAkashAuditors (loaded: LoadedSdl, map: Map<string, string>): LoadedSdl {
  let changed = false
  const notices = loaded.notices.filter((n) => {
    const a = /^(akash1[0-9a-z]+) is an Akash account address/.exec(n.message)?.[1]
    return a == null || !map.has(a)
  })
  const groups = loaded.groups.map((g) => {
    const swap = (xs: string[]): string[] => xs.map((a) => { const k = AKASH_ADDRESS.test(a) ? map.get(a) : undefined; if (k != null) changed = true; return k ?? a })
    return { ...g, signedBy: { allOf: swap(g.signedBy.allOf), anyOf: swap(g.signedBy.anyOf) } }
  })
  if (!changed) return loaded
  for (const g of loaded.groups) {
    for (const a of [...g.signedBy.allOf, ...g.signedBy.anyOf]) {
      const k = map.get(a)
      if (k != null) notices.push({ path: `profiles.placement.${g.name}.signedBy`, message: `auditor ${a} is ordered as souk auditor ${k} (tenant.akashAuditors)` })
    }
  }
  return { ...loaded, groups, notices }
}
