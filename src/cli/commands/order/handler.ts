import type { ControlClient } from '../../../api/index.ts'
import { print, printJson } from '../../output.ts'
import type { JsonOptions } from './options.ts'

export async function orderList (client: ControlClient, opts: JsonOptions): Promise<void> {
  const r = await client.call('GET /v1/orders', {})
  if (opts.json === true) { printJson(r); return }
  for (const o of r.mine) print(`${o.order.slice(0, 16)}  ${o.state.padEnd(9)} ${o.bids ?? 0} bids  ${o.totals}${o.reason != null ? `  (${o.reason})` : ''}`)
  if (r.open.length > 0) print(`open orders on the network: ${r.open.length}`)
  if (r.mine.length === 0 && r.open.length === 0) print('no orders')
}
