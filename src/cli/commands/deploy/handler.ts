// `souk deploy FILE`: order, bids, lease, manifest, running services, as the daemon reports them.
import { readFile } from 'node:fs/promises'
import type { ControlClient, DeployRequest, DeploymentView, DryRunView, ProgressEventView } from '../../../api/index.ts'
import { price, servicesLines, short } from '../../format.ts'
import { print, printJson, CliError } from '../../output.ts'
import { checkSdlFile, sdlErrorLines } from '../../sdl-check.ts'
import type { DeployOptions } from './options.ts'

function renderEvent (e: ProgressEventView): void {
  const d = e.detail ?? {}
  switch (e.type) {
    case 'deploy:validated':
      print(`✓ deployment file valid: ${d.totals}`)
      for (const n of d.noticeList ?? []) print(`  notice  ${n.path}: ${n.message}`)
      break
    case 'deploy:queued': print(`  waiting: ${String(d.open)} orders of this node are open, as many as a provider bids on for one tenant; ${String(d.queued)} in line`); break
    case 'deploy:order-published': print(`✓ order ${String(d.order).slice(0, 12)} published; bids until ${new Date(d.bidDeadline ?? 0).toISOString().slice(11, 19)}`); break
    case 'deploy:bid': print(`  bid ${d.bids} from ${short(d.provider)}: ${price(d.prices)}`); break
    case 'deploy:lease-final': print(`✓ lease final: provider ${short(d.provider)} at ${price(d.prices)} per 6 s (${d.bids} bid${d.bids === 1 ? '' : 's'}, batch ${d.height})`); break
    case 'deploy:manifest-accepted': print(`✓ manifest accepted by ${short(d.provider)}`); break
    case 'deploy:services-running': print('✓ services running'); break
    case 'deploy:closing': print(`  aborted: closing the lease with ${short(d.provider)}`); break
    case 'deploy:kept': print(`  aborted: the deployment goes on (${String(d.state)}); souk lease list follows it`); break
    case 'failover:provider-lost': print(`✗ provider ${short(d.provider)} lost: silent for ${Math.round((d.silentMs ?? 0) / 1000)} s`); break
    case 'failover:provider-failed': print(`✗ provider ${short(d.provider)} failed: ${String(d.reason)}`); break
    case 'failover:closed': print(`✓ lease ${String(d.order).slice(0, 12)} closed as ${String(d.code)}`); break
    case 'failover:ordering': print(`↻ failover ${String(d.failover)} of ${String(d.of)}: ordering again without ${(d.excluded ?? []).map(short).join(', ')}`); break
    case 'failover:running': print(`✓ running again on ${short(d.provider)} after ${String(d.failovers)} failover(s): lease ${String(d.order)}`); break
    case 'failover:gave-up': print(`✗ failover stopped: ${String(d.reason)}`); break
    default: print(`  ${e.type}`)
  }
}

function printDryRun (r: DryRunView): void {
  print(`✓ deployment file valid: ${r.totals}`)
  for (const n of r.notices ?? []) print(`  notice  ${n.path}: ${n.message}`)
  if (r.answers.length === 0) print('no provider found: is this node connected (souk node status)?')
  for (const a of r.answers) {
    if (a.outcome === 'bid') print(`✓ ${a.provider} would bid ${price(a.prices)}`)
    else {
      print(`✗ ${a.provider} ${a.outcome === 'declined' ? 'would not bid' : 'did not answer'}:`)
      for (const x of a.reasons) print(`    ${x.message}  (${x.code})`)
    }
  }
  print(`${r.answers.filter((a) => a.outcome === 'bid').length} of ${r.answers.length} providers would bid; no order was published`)
}

export async function deployFile (client: ControlClient, file: string, opts: DeployOptions): Promise<void> {
  const report = await checkSdlFile(file)
  if (!report.ok) throw new CliError(`${file} is not a valid deployment file:\n${sdlErrorLines(report)}`)
  const body: DeployRequest = { sdl: await readFile(file, 'utf8') }
  if (opts.bidWindow != null) body.bidWindowMs = Number(opts.bidWindow)
  // --failover first, then --no-failover: neither given leaves it undefined (souk.yaml decides)
  if (typeof opts.failover === 'boolean') body.failover = opts.failover
  if (opts.dryRun === true) {
    const r = await client.call('POST /v1/deploy/dry-run', { body })
    if (opts.json === true) printJson(r)
    else printDryRun(r)
    return
  }
  let result: DeploymentView | undefined
  for await (const line of client.lines('POST /v1/deploy', { body })) {
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
}
