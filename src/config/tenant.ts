// Tenant settings beyond the bid window: which souk auditor key stands for an Akash auditor
// address (tenant.akashAuditors in souk.yaml), so Akash files naming auditors by address can be
// ordered from souk providers.
const PROVIDER = /^([0-9a-f]{64}|12D3Koo[1-9A-HJ-NP-Za-km-z]{45,46})$/i

export function checkTenantConfig (t: { akashAuditors: string[], failover?: { maxFailovers: number, probeMs: number, lostAfterMs: number }, accept?: { maxFailurePermille: number, minServed: number, allow: string[], deny: string[] } }, problems: Array<{ path: string, message: string }>): void {
  if (t.failover != null) {
    if (!Number.isInteger(t.failover.maxFailovers) || t.failover.maxFailovers > 100) problems.push({ path: 'tenant.failover.maxFailovers', message: 'must be a whole number of failovers, 0-100' })
    if (t.failover.probeMs >= t.failover.lostAfterMs) problems.push({ path: 'tenant.failover.probeMs', message: `must be below tenant.failover.lostAfterMs (${t.failover.lostAfterMs}), or a provider is lost before it is asked twice` })
  }
  if (t.accept != null) {
    if (!Number.isInteger(t.accept.maxFailurePermille) || t.accept.maxFailurePermille > 1000) problems.push({ path: 'tenant.accept.maxFailurePermille', message: 'must be a whole number of thousandths, 0-1000' })
    if (!Number.isInteger(t.accept.minServed) || t.accept.minServed > 1_000_000) problems.push({ path: 'tenant.accept.minServed', message: 'must be a whole number of leases, 0-1000000' })
    for (const key of ['allow', 'deny'] as const) {
      if (t.accept[key].length > 64) problems.push({ path: `tenant.accept.${key}`, message: 'names at most 64 providers' })
      t.accept[key].forEach((p, i) => { if (!PROVIDER.test(p.trim())) problems.push({ path: `tenant.accept.${key}[${i}]`, message: `${JSON.stringify(p)} must be a provider's peer ID or its key (64 hex digits)` }) })
    }
  }
  t.akashAuditors.forEach((entry, i) => {
    const [addr, key, ...rest] = entry.split('=')
    if (rest.length > 0 || addr == null || key == null || !/^akash1[02-9ac-hj-np-z]{38,58}$/.test(addr.trim()) || !/^([0-9a-f]{64}|12D3Koo[1-9A-HJ-NP-Za-km-z]{45,46})$/i.test(key.trim())) {
      problems.push({ path: `tenant.akashAuditors[${i}]`, message: `${JSON.stringify(entry)} must be akash1…=<souk auditor key: 64 hex digits or a peer ID>` })
    }
  })
}

/** `akash1…` → the souk auditor key as written (hex or peer ID) */
export function akashAuditorMap (t: { akashAuditors: string[] }): Map<string, string> {
  return new Map(t.akashAuditors.map((e) => { const [a, k] = e.split('='); return [a.trim(), k.trim()] }))
}
