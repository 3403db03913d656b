// How the CLI writes the control API's answers for a person: shared by deploy, lease and provider.
import type { LeaseEventView, PriceView, ServiceLineView } from '../api/index.ts'
import { print } from './output.ts'

/** a peer or lease ID cut to its last characters */
export const short = (id: string | undefined): string => id == null ? '?' : id.length > 16 ? `…${id.slice(-8)}` : id

/** prices, one per group, as `1 usouk + 2 usouk` */
export const price = (ps: PriceView[] | undefined): string => (ps ?? []).map((p) => `${p.amount} ${p.denom}`).join(' + ')

/** one line of a lease's history at its provider */
export function eventLine (e: LeaseEventView): string {
  const who = [e.service, e.replica].filter((x) => x != null && x !== '').join(' ')
  return `${new Date(e.time).toISOString().slice(0, 19)}Z  ${String(e.type).padEnd(18)} ${who}${who !== '' && e.message != null ? '  ' : ''}${e.message ?? ''}`
}

/** a deployment's services: name, ready of count, URLs */
export function servicesLines (services: ServiceLineView[] | undefined): void {
  for (const s of services ?? []) print(`  ${s.name.padEnd(12)} ${s.ready}/${s.count}  ${s.urls.join('  ')}`)
}
