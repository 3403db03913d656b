// Tenant and provider commands: deploy, lease, order, provider. They talk to the running daemon.
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { checkSdlFile } from './sdl.ts'
import { client } from './node.ts'
import { print, printJson, CliError } from '../output.ts'

const short = (id: string | undefined): string => id == null ? '?' : id.length > 16 ? `…${id.slice(-8)}` : id
const price = (ps: Array<{ amount: string, denom: string }> | undefined): string => (ps ?? []).map((p) => `${p.amount} ${p.denom}`).join(' + ')

function renderEvent (e: any): void {
  const d = e.detail ?? {}
  switch (e.type) {
    case 'deploy:validated':
      print(`✓ deployment file valid: ${d.totals}`)
      for (const n of d.noticeList ?? []) print(`  notice  ${n.path as string}: ${n.message as string}`)
      break
    case 'deploy:order-published': print(`✓ order ${d.order.slice(0, 12)} published; bids until ${new Date(d.bidDeadline).toISOString().slice(11, 19)}`); break
    case 'deploy:bid': print(`  bid ${d.bids} from ${short(d.provider)}: ${price(d.prices)}`); break
    case 'deploy:lease-final': print(`✓ lease final: provider ${short(d.provider)} at ${price(d.prices)} per 6 s (${d.bids} bid${d.bids === 1 ? '' : 's'}, batch ${d.height})`); break
    case 'deploy:manifest-accepted': print(`✓ manifest accepted by ${short(d.provider)}`); break
    case 'deploy:services-running': print('✓ services running'); break
    case 'deploy:closing': print(`  aborted: closing the lease with ${short(d.provider)}`); break
    case 'deploy:kept': print(`  aborted: the deployment goes on (${d.state as string}); souk lease list follows it`); break
    case 'failover:provider-lost': print(`✗ provider ${short(d.provider)} lost: silent for ${Math.round(d.silentMs / 1000)} s`); break
    case 'failover:provider-failed': print(`✗ provider ${short(d.provider)} failed: ${String(d.reason)}`); break
    case 'failover:closed': print(`✓ lease ${String(d.order).slice(0, 12)} closed as ${String(d.code)}`); break
    case 'failover:ordering': print(`↻ failover ${String(d.failover)} of ${String(d.of)}: ordering again without ${(d.excluded ?? []).map(short).join(', ')}`); break
    case 'failover:running': print(`✓ running again on ${short(d.provider)} after ${String(d.failovers)} failover(s): lease ${String(d.order)}`); break
    case 'failover:gave-up': print(`✗ failover stopped: ${String(d.reason)}`); break
    default: print(`  ${e.type}`)
  }
}

function eventLine (e: any): string {
  const who = [e.service, e.replica].filter((x) => x != null && x !== '').join(' ')
  return `${new Date(e.time).toISOString().slice(0, 19)}Z  ${String(e.type).padEnd(18)} ${who}${who !== '' && e.message != null ? '  ' : ''}${e.message ?? ''}`
}

function servicesLines (services: Array<{ name: string, ready: number, count: number, urls: string[] }> | undefined): void {
  for (const s of services ?? []) print(`  ${s.name.padEnd(12)} ${s.ready}/${s.count}  ${s.urls.join('  ')}`)
}

export function deployCommand (program: Command): void {
  program.command('deploy').description('deploy an SDL file: order, bids, lease, manifest, running services')
    .argument('<file>', 'Akash SDL v2.0 deployment file')
    .option('--bid-window <ms>', 'how long providers may bid, ms')
    .option('--dry-run', 'ask the providers what they would bid, or every reason they would not; publishes no order')
    .option('--failover', 'when the provider is lost or never takes the manifest, close the lease and deploy again on another provider (tenant.failover in souk.yaml sets the timings). Only while this node runs; persistent storage does not move: the new provider starts with empty volumes')
    .option('--no-failover', 'no failover for this deployment, whatever tenant.failover.enabled says')
    .option('--json', 'print the outcome as JSON')
    .action(async (file: string, opts) => {
      const report = await checkSdlFile(file)
      if (!report.ok) {
        const lines = report.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')
        throw new CliError(`${file} is not a valid deployment file:\n${lines}`)
      }
      const sdl = await readFile(file, 'utf8')
      const body: Record<string, unknown> = { sdl }
      if (opts.bidWindow != null) body.bidWindowMs = Number(opts.bidWindow)
      // --failover first, then --no-failover: neither given leaves it undefined (souk.yaml decides)
      if (typeof opts.failover === 'boolean') body.failover = opts.failover
      if (opts.dryRun === true) {
        const r: any = await client(program).post('/v1/deploy/dry-run', body)
        if (opts.json === true) { printJson(r); return }
        print(`✓ deployment file valid: ${String(r.totals)}`)
        for (const n of r.notices ?? []) print(`  notice  ${String(n.path)}: ${String(n.message)}`)
        if (r.answers.length === 0) print('no provider found: is this node connected (souk node status)?')
        for (const a of r.answers) {
          if (a.outcome === 'bid') print(`✓ ${String(a.provider)} would bid ${price(a.prices)}`)
          else {
            print(`✗ ${String(a.provider)} ${a.outcome === 'declined' ? 'would not bid' : 'did not answer'}:`)
            for (const x of a.reasons) print(`    ${String(x.message)}  (${String(x.code)})`)
          }
        }
        print(`${r.answers.filter((a: any) => a.outcome === 'bid').length} of ${r.answers.length} providers would bid; no order was published`)
        return
      }
      let result: any
      for await (const line of client(program).stream<any>('POST', '/v1/deploy', body)) {
        if (line.event != null && opts.json !== true) renderEvent(line.event)
        if (line.result != null) result = line.result
        if (line.error != null) {
          if (opts.json === true) { printJson({ ok: false, error: line.error }); process.exitCode = 1; return }
          throw new CliError(line.error.message)
        }
      }
      if (result == null) throw new CliError('the daemon ended the deployment without an outcome')
      if (opts.json === true) { printJson(result); return }
      servicesLines(result.services)
      print(`lease ${result.order}`)
    })
}

export function leaseCommand (program: Command): void {
  const lease = program.command('lease').description('leases: list, status, logs, events, close')
  lease.command('list').description('this node\'s leases').option('--json', 'print as JSON')
    .action(async (opts) => {
      const r: any = await client(program).get('/v1/leases')
      if (opts.json === true) { printJson(r); return }
      if (r.tenant.length === 0 && r.provider.length === 0) { print('no leases'); return }
      for (const d of r.tenant) {
        print(`${d.order.slice(0, 16)}  ${d.state.padEnd(9)} ${short(d.provider)}  ${price(d.prices)}  ${d.totals}${d.reason != null ? `  (${d.reason})` : ''}`)
        servicesLines(d.services)
      }
      for (const l of r.provider) print(`${l.lease.slice(0, 16)}  ${l.state.padEnd(9)} tenant ${short(l.tenant)}  (provider)${l.closeReason != null ? `  ${l.closeReason}` : ''}`)
    })
  lease.command('status').argument('<id>', 'lease (order) ID or a prefix').option('--json', 'print as JSON')
    .action(async (id: string, opts) => {
      const r: any = await client(program).get(`/v1/leases/${encodeURIComponent(id)}`)
      if (opts.json === true) { printJson(r); return }
      const d = r.deployment
      print(`lease     ${d.order}`)
      print(`state     ${r.provider?.state ?? d.state}${d.state === 'closed' && d.reason != null && d.reason !== '' ? `  (${String(d.reason)})` : ''}`)
      print(`provider  ${d.provider}`)
      print(`price     ${price(d.prices)} per 6 s`)
      if (r.provider?.statusError != null) print(`runtime   ${String(r.provider.statusError)}`)
      for (const s of r.provider?.deployed?.services ?? []) {
        print(`service   ${s.name}  ${s.ready}/${s.count} ready  ${(s.urls ?? []).map((u: any) => u.url).join('  ')}`)
        for (const rep of s.replicas ?? []) print(`  ${rep.name}  ${rep.state}${rep.restarts > 0 ? ` (${rep.restarts} restarts)` : ''}${rep.message != null ? `  ${rep.message}` : ''}`)
      }
      for (const n of r.provider?.deployed?.notices ?? []) print(`notice    ${n.path}: ${n.message}`)
      const recent = r.provider?.recent ?? []
      if (recent.length > 0) print('recent    (souk lease events shows all)')
      for (const e of recent) print(`  ${eventLine(e)}`)
      if (r.error != null) print(`provider  unreachable: ${String(r.error.message)}`)
      if (Array.isArray(r.chain) && r.chain.length > 1) {
        print(`failover  ${r.chain.length - 1} time(s); leases, oldest first:`)
        for (const x of r.chain) print(`  ${String(x.order).slice(0, 16)}  ${String(x.state).padEnd(8)} ${short(x.provider)}${x.reason != null ? `  (${String(x.reason)})` : ''}`)
      }
      for (const h of r.history ?? []) print(`  ${new Date(h.time).toISOString().slice(0, 19)}Z  ${String(h.type).padEnd(8)} ${String(h.order).slice(0, 12)}  ${String(h.message)}`)
    })
  lease.command('logs').argument('<id>', 'lease ID').option('-f, --follow', 'keep following').option('--tail <n>', 'lines per replica from the end').option('--service <name>', 'one service only').option('--json', 'print JSON lines')
    .action(async (id: string, opts) => {
      const q = new URLSearchParams()
      if (opts.follow === true) q.set('follow', '1')
      if (opts.tail != null) q.set('tail', String(opts.tail))
      if (opts.service != null) q.set('service', opts.service)
      for await (const l of client(program).stream<any>('GET', `/v1/leases/${encodeURIComponent(id)}/logs?${q}`)) {
        if (opts.json === true) process.stdout.write(JSON.stringify(l) + '\n')
        else print(`${l.service} | ${l.line}`)
      }
    })
  lease.command('events').argument('<id>', 'lease ID or a prefix').description('the lease\'s history at its provider, from the manifest to the close').option('-f, --follow', 'keep following').option('--json', 'print JSON lines')
    .action(async (id: string, opts) => {
      for await (const e of client(program).stream<any>('GET', `/v1/leases/${encodeURIComponent(id)}/events${opts.follow === true ? '?follow=1' : ''}`)) {
        if (opts.json === true) process.stdout.write(JSON.stringify(e) + '\n')
        else print(eventLine(e))
      }
    })
  lease.command('usage').argument('<id>', 'lease ID').description('signed usage statements: period, amount, running total, countersigned or not').option('--json', 'print as JSON')
    .action(async (id: string, opts) => {
      const r: any = await client(program).get(`/v1/leases/${encodeURIComponent(id)}/usage`)
      if (opts.json === true) { printJson(r); return }
      if (r.statements.length === 0) { print('no usage statements yet'); return }
      for (const u of r.statements) {
        const from = new Date(u.periodStart).toISOString().slice(11, 19)
        const to = new Date(u.periodEnd).toISOString().slice(11, 19)
        print(`#${String(u.sequence).padEnd(4)} ${from}–${to}  ${u.amount.amount} ${u.amount.denom}  total ${u.total.amount} ${u.total.denom}  ${u.ack != null ? 'countersigned' : 'unanswered'}`)
      }
    })
  lease.command('update').argument('<id>', 'lease ID').argument('<file>', 'the new deployment file').description('roll out a new manifest on a running lease; a failed rollout keeps the old one').option('--json', 'print as JSON')
    .action(async (id: string, file: string, opts) => {
      const report = await checkSdlFile(file)
      if (!report.ok) throw new CliError(`${file} is not a valid deployment file:\n${report.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`)
      const d: any = await client(program).post(`/v1/leases/${encodeURIComponent(id)}/update`, { sdl: await readFile(file, 'utf8') })
      if (opts.json === true) { printJson(d); return }
      print(`✓ lease ${d.order.slice(0, 12)} runs manifest ${d.sequence}`)
      servicesLines(d.services)
    })
  lease.command('shell').argument('<id>', 'lease ID').argument('[command...]', 'command to run instead of a shell').description('a shell (or a command) in one of the lease\'s containers')
    .option('--service <name>', 'which service (default: the first)')
    .action(async (id: string, command: string[], opts) => {
      const tty = process.stdin.isTTY === true && command.length === 0
      const s = await client(program).duplex<any>(`/v1/leases/${encodeURIComponent(id)}/exec`)
      s.write({ service: opts.service, command: command.length > 0 ? command : ['sh'], tty })
      if (tty) process.stdin.setRawMode(true)
      const onData = (d: Buffer): void => { s.write({ stdin: d.toString('base64') }) }
      process.stdin.on('data', onData)
      process.stdin.on('end', () => { s.write({ eof: true }); s.end() })
      try {
        for await (const m of s.read) {
          if (m.data != null) (m.stream === 'stderr' ? process.stderr : process.stdout).write(Buffer.from(m.data, 'base64'))
          if (m.exit != null) { process.exitCode = m.exit; break }
          if (m.error != null) throw new CliError(m.error.message)
        }
      } finally {
        if (tty) process.stdin.setRawMode(false)
        process.stdin.off('data', onData)
        process.stdin.pause()
        s.end()
      }
    })
  lease.command('close').argument('<id>', 'lease ID').option('--reason <text>', 'told to the provider', '').option('--json', 'print as JSON')
    .action(async (id: string, opts) => {
      const d: any = await client(program).post(`/v1/leases/${encodeURIComponent(id)}/close`, { reason: opts.reason })
      if (opts.json === true) { printJson(d); return }
      print(`lease ${d.order} closed`)
    })
}

export function orderCommand (program: Command): void {
  const order = program.command('order').description('orders')
  order.command('list').description('this node\'s orders and the open orders it sees').option('--json', 'print as JSON')
    .action(async (opts) => {
      const r: any = await client(program).get('/v1/orders')
      if (opts.json === true) { printJson(r); return }
      for (const o of r.mine) print(`${o.order.slice(0, 16)}  ${o.state.padEnd(9)} ${o.bids ?? 0} bids  ${o.totals}${o.reason != null ? `  (${o.reason})` : ''}`)
      if (r.open.length > 0) print(`open orders on the network: ${r.open.length}`)
      if (r.mine.length === 0 && r.open.length === 0) print('no orders')
    })
}

export function providerCommand (program: Command): void {
  const provider = program.command('provider').description('the provider role: capacity, leases, bid decisions')
  provider.command('status').option('--json', 'print as JSON')
    .action(async (opts) => {
      const s: any = await client(program).get('/v1/provider')
      if (opts.json === true) { printJson(s); return }
      print(`runtime       ${s.runtime}`)
      const sb = s.sandbox
      if (sb?.error != null) print(`sandbox       unavailable: ${String(sb.error)}`)
      else if (sb != null) {
        print(`sandbox       ${String(sb.ociRuntime)}${sb.ociRuntime === 'runsc' ? ' (gVisor)' : ''}, user namespaces ${sb.userNamespaces === true ? 'on' : 'off'}`)
        print(`network       ${sb.network.isolation === 'none' ? 'not isolated' : `isolated by ${String(sb.network.isolation)}`}${sb.network.allowed.length > 0 ? `, allowed ${sb.network.allowed.join(' ')}` : ''}`)
        print(`storage       ephemeral ${String(sb.storage.ephemeral)}, persistent ${String(sb.storage.persistent)}, ram ${String(sb.storage.ram)}`)
        for (const d of s.declinedStorage ?? []) print(`declines      ${String(d.kind)} storage: ${String(d.why)}`)
        for (const d of s.acceptedUnenforcedStorage ?? []) print(`accepts       ${String(d.kind)} storage although ${String(d.why)} (provider.sandbox.unenforcedStorage)`)
        for (const n of sb.notes ?? []) print(`note          ${String(n)}`)
      }
      print(`attributes    ${Object.entries(s.attributes).map(([k, v]) => `${k}=${String(v)}`).join(', ') || '(none)'}`)
      print(`cpu free      ${(s.free.cpu / 1000).toFixed(2)} of ${(s.capacity.cpu / 1000).toFixed(2)}`)
      print(`memory free   ${(s.free.memory / 2 ** 30).toFixed(1)} of ${(s.capacity.memory / 2 ** 30).toFixed(1)} GiB`)
      print(`gpus free     ${s.free.gpus.length} of ${s.capacity.gpus.length}`)
      print(`open bids     ${s.reservations.filter((r: any) => r.state === 'open').length}`)
      for (const l of s.leases) print(`lease         ${l.lease.slice(0, 16)}  ${l.state}${l.closeReason != null ? `  ${l.closeReason}` : ''}`)
    })
  provider.command('record').argument('<peer>', 'a provider\'s peer ID or key (64 hex digits)').description('the provider\'s record from the committee\'s ledger: leases won, served, closed as lost or failed').option('--json', 'print as JSON')
    .action(async (peer: string, opts) => {
      const r: any = await client(program).get(`/v1/providers/${encodeURIComponent(peer)}/record`)
      if (opts.json === true) { printJson(r); return }
      const x = r.record
      print(`provider   ${String(r.provider)}`)
      print(`won        ${String(x.won)}`)
      print(`served     ${String(x.served)}  (open 5 min without a counted failure)`)
      print(`lost       ${String(x.lost)}  (closed by their tenant as provider-lost)`)
      print(`failed     ${String(x.failed)}  (closed by their tenant as provider-failed)`)
      if (x.uncounted > 0) print(`uncounted  ${String(x.uncounted)}  (failure closes that did not count)`)
      print(`as of      batch ${String(r.height)}${r.source === 'validators' ? ` (${String(r.agreeing)} of ${String(r.asked)} validators agree; ${String(r.needed)} needed)` : ' (this validator\'s ledger)'}`)
    })
  provider.command('explain').argument('<order>', 'order ID or a unique prefix (as deploy prints it)').description('why this provider bid on an order, or why not').option('--json', 'print as JSON')
    .action(async (order: string, opts) => {
      const d: any = await client(program).get(`/v1/provider/explain/${encodeURIComponent(order)}`)
      if (opts.json === true) { printJson(d); return }
      if (d.outcome === 'bid') print(`bid ${price(d.prices)}${d.state != null ? ` (${d.state})` : ''}`)
      else for (const r of d.reasons) print(`declined: ${r.message}  (${r.code})`)
    })
}
