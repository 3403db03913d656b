// `souk provider status|record|explain`: the provider role's state, its record, its decisions.
import type { ControlClient, ProviderStatusView } from '../../../api/index.ts'
import { price } from '../../format.ts'
import { print, printJson } from '../../output.ts'
import type { JsonOptions } from './options.ts'

function printStatus (s: ProviderStatusView): void {
  print(`runtime       ${s.runtime}`)
  const sb = s.sandbox
  if (sb?.error != null) print(`sandbox       unavailable: ${sb.error}`)
  else if (sb != null) {
    print(`sandbox       ${String(sb.ociRuntime)}${sb.ociRuntime === 'runsc' ? ' (gVisor)' : ''}, user namespaces ${sb.userNamespaces === true ? 'on' : 'off'}`)
    if (sb.network != null) print(`network       ${sb.network.isolation === 'none' ? 'not isolated' : `isolated by ${sb.network.isolation}`}${sb.network.allowed.length > 0 ? `, allowed ${sb.network.allowed.join(' ')}` : ''}`)
    if (sb.storage != null) print(`storage       ephemeral ${sb.storage.ephemeral}, persistent ${sb.storage.persistent}, ram ${sb.storage.ram}`)
    for (const d of s.declinedStorage ?? []) print(`declines      ${d.kind} storage: ${d.why}`)
    for (const d of s.acceptedUnenforcedStorage ?? []) print(`accepts       ${d.kind} storage although ${d.why} (provider.sandbox.unenforcedStorage)`)
    for (const n of sb.notes ?? []) print(`note          ${n}`)
  }
  print(`attributes    ${Object.entries(s.attributes).map(([k, v]) => `${k}=${String(v)}`).join(', ') || '(none)'}`)
  print(`cpu free      ${(s.free.cpu / 1000).toFixed(2)} of ${(s.capacity.cpu / 1000).toFixed(2)}`)
  print(`memory free   ${(s.free.memory / 2 ** 30).toFixed(1)} of ${(s.capacity.memory / 2 ** 30).toFixed(1)} GiB`)
  print(`gpus free     ${s.free.gpus.length} of ${s.capacity.gpus.length}`)
  print(`open bids     ${s.reservations.filter((r) => r.state === 'open').length}`)
  for (const l of s.leases) print(`lease         ${l.lease.slice(0, 16)}  ${l.state}${l.closeReason != null ? `  ${l.closeReason}` : ''}`)
}

export async function providerStatus (client: ControlClient, opts: JsonOptions): Promise<void> {
  const s = await client.call('GET /v1/provider', {})
  if (opts.json === true) printJson(s)
  else printStatus(s)
}

export async function providerRecord (client: ControlClient, peer: string, opts: JsonOptions): Promise<void> {
  const r = await client.call('GET /v1/providers/:peer/record', { params: { peer } })
  if (opts.json === true) { printJson(r); return }
  const x = r.record
  print(`provider   ${r.provider}`)
  print(`won        ${x.won}`)
  print(`served     ${x.served}  (open 5 min without a counted failure)`)
  print(`lost       ${x.lost}  (closed by their tenant as provider-lost)`)
  print(`failed     ${x.failed}  (closed by their tenant as provider-failed)`)
  if (x.uncounted > 0) print(`uncounted  ${x.uncounted}  (failure closes that did not count)`)
  print(`as of      batch ${r.height}${r.source === 'validators' ? ` (${r.agreeing} of ${r.asked} validators agree; ${r.needed} needed)` : ' (this validator\'s ledger)'}`)
}

export async function providerExplain (client: ControlClient, order: string, opts: JsonOptions): Promise<void> {
  const d = await client.call('GET /v1/provider/explain/:order', { params: { order } })
  if (opts.json === true) { printJson(d); return }
  if (d.outcome === 'bid') print(`bid ${price(d.prices)}${d.state != null ? ` (${d.state})` : ''}`)
  else for (const r of d.reasons) print(`declined: ${r.message}  (${r.code})`)
}
