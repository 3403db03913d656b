// `souk lease logs|events`: NDJSON streams from the daemon, a line each.
import type { ControlClient } from '../../../api/index.ts'
import { eventLine } from '../../format.ts'
import { print } from '../../output.ts'
import type { EventsOptions, LogsOptions } from './options.ts'

export async function leaseLogs (client: ControlClient, id: string, opts: LogsOptions): Promise<void> {
  const query: Record<string, string> = {}
  if (opts.follow === true) query.follow = '1'
  if (opts.tail != null) query.tail = String(opts.tail)
  if (opts.service != null) query.service = opts.service
  for await (const l of client.lines('GET /v1/leases/:id/logs', { params: { id }, query })) {
    if (opts.json === true) process.stdout.write(JSON.stringify(l) + '\n')
    else print(`${l.service} | ${l.line}`)
  }
}

export async function leaseEvents (client: ControlClient, id: string, opts: EventsOptions): Promise<void> {
  const query: Record<string, string> = opts.follow === true ? { follow: '1' } : {}
  for await (const e of client.lines('GET /v1/leases/:id/events', { params: { id }, query })) {
    if (opts.json === true) process.stdout.write(JSON.stringify(e) + '\n')
    else print(eventLine(e))
  }
}
