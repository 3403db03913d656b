// `souk lease list|status|usage|update|close`: one answer of the daemon each, printed.
import { readFile } from 'node:fs/promises'
import type { ControlClient, LeaseStatusView } from '../../../api/index.ts'
import { eventLine, price, servicesLines, short } from '../../format.ts'
import { print, printJson, CliError } from '../../output.ts'
import { checkSdlFile, sdlErrorLines } from '../../sdl-check.ts'
import type { CloseOptions, JsonOptions } from './options.ts'

export async function leaseList (client: ControlClient, opts: JsonOptions): Promise<void> {
  const r = await client.call('GET /v1/leases', {})
  if (opts.json === true) { printJson(r); return }
  if (r.tenant.length === 0 && r.provider.length === 0) { print('no leases'); return }
  for (const d of r.tenant) {
    print(`${d.order.slice(0, 16)}  ${d.state.padEnd(9)} ${short(d.provider)}  ${price(d.prices)}  ${d.totals}${d.reason != null ? `  (${d.reason})` : ''}`)
    servicesLines(d.services)
  }
  for (const l of r.provider) print(`${l.lease.slice(0, 16)}  ${l.state.padEnd(9)} tenant ${short(l.tenant)}  (provider)${l.closeReason != null ? `  ${l.closeReason}` : ''}`)
}

function printStatus (r: LeaseStatusView): void {
  const d = r.deployment
  print(`lease     ${d.order}`)
  print(`state     ${r.provider?.state ?? d.state}${d.state === 'closed' && d.reason != null && d.reason !== '' ? `  (${d.reason})` : ''}`)
  print(`provider  ${String(d.provider)}`)
  print(`price     ${price(d.prices)} per 6 s`)
  if (r.provider?.statusError != null) print(`runtime   ${r.provider.statusError}`)
  for (const s of r.provider?.deployed?.services ?? []) {
    print(`service   ${s.name}  ${s.ready}/${s.count} ready  ${(s.urls ?? []).map((u) => u.url).join('  ')}`)
    for (const rep of s.replicas ?? []) print(`  ${rep.name}  ${rep.state}${rep.restarts > 0 ? ` (${rep.restarts} restarts)` : ''}${rep.message != null ? `  ${rep.message}` : ''}`)
  }
  for (const n of r.provider?.deployed?.notices ?? []) print(`notice    ${n.path}: ${n.message}`)
  const recent = r.provider?.recent ?? []
  if (recent.length > 0) print('recent    (souk lease events shows all)')
  for (const e of recent) print(`  ${eventLine(e)}`)
  if (r.error != null) print(`provider  unreachable: ${r.error.message}`)
  if (Array.isArray(r.chain) && r.chain.length > 1) {
    print(`failover  ${r.chain.length - 1} time(s); leases, oldest first:`)
    for (const x of r.chain) print(`  ${x.order.slice(0, 16)}  ${x.state.padEnd(8)} ${short(x.provider)}${x.reason != null ? `  (${x.reason})` : ''}`)
  }
  for (const h of r.history ?? []) print(`  ${new Date(h.time).toISOString().slice(0, 19)}Z  ${h.type.padEnd(8)} ${h.order.slice(0, 12)}  ${h.message}`)
}

export async function leaseStatus (client: ControlClient, id: string, opts: JsonOptions): Promise<void> {
  const r = await client.call('GET /v1/leases/:id', { params: { id } })
  if (opts.json === true) printJson(r)
  else printStatus(r)
}

export async function leaseUsage (client: ControlClient, id: string, opts: JsonOptions): Promise<void> {
  const r = await client.call('GET /v1/leases/:id/usage', { params: { id } })
  if (opts.json === true) { printJson(r); return }
  if (r.statements.length === 0) { print('no usage statements yet'); return }
  for (const u of r.statements) {
    const from = new Date(u.periodStart).toISOString().slice(11, 19)
    const to = new Date(u.periodEnd).toISOString().slice(11, 19)
    print(`#${String(u.sequence).padEnd(4)} ${from}–${to}  ${u.amount.amount} ${u.amount.denom}  total ${u.total.amount} ${u.total.denom}  ${u.ack != null ? 'countersigned' : 'unanswered'}`)
  }
}

export async function leaseUpdate (client: ControlClient, id: string, file: string, opts: JsonOptions): Promise<void> {
  const report = await checkSdlFile(file)
  if (!report.ok) throw new CliError(`${file} is not a valid deployment file:\n${sdlErrorLines(report)}`)
  const d = await client.call('POST /v1/leases/:id/update', { params: { id }, body: { sdl: await readFile(file, 'utf8') } })
  if (opts.json === true) { printJson(d); return }
  print(`✓ lease ${d.order.slice(0, 12)} runs manifest ${d.sequence}`)
  servicesLines(d.services)
}

export async function leaseClose (client: ControlClient, id: string, opts: CloseOptions): Promise<void> {
  const d = await client.call('POST /v1/leases/:id/close', { params: { id }, body: { reason: opts.reason } })
  if (opts.json === true) { printJson(d); return }
  print(`lease ${d.order} closed`)
}
