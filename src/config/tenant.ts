// Tenant settings beyond the bid window: which souk auditor key stands for an Akash auditor
// address (tenant.akashAuditors in souk.yaml), so Akash files naming auditors by address can be
// ordered from souk providers.
export function checkTenantConfig (t: { akashAuditors: string[] }, problems: Array<{ path: string, message: string }>): void {
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
