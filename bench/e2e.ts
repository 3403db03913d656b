// `souk deploy` to a serving URL on a local devnet, through the daemon's control API (the path the
// CLI takes). The bid window is a fixed wait chosen by the tenant: it is excluded from the totals
// and printed on its own. order_to_lease counts from the bid deadline to the certified lease.
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { devnetUp, devnetDown } from '../src/node/devnet.ts'
import { controlClient } from '../src/api/index.ts'
import { controlSocketPath } from '../src/node/daemon.ts'

const arg = (name: string, d: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d)
const runs = arg('runs', 20)
const bidWindowMs = arg('bid-window', 500)
if (process.env.DOCKER_HOST == null) { process.stderr.write('bench:e2e needs a Docker engine: set DOCKER_HOST (see .ci/run)\n'); process.exit(1) }

const dir = mkdtempSync(join(tmpdir(), 'souk-bench-e2e-'))
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] }
const web = readFileSync(new URL('../examples/web.yaml', import.meta.url), 'utf8')
const total: number[] = []; const toLease: number[] = []; const toRunning: number[] = []
try {
  await devnetUp(dir, { bidWindowMs })
  const tenant = controlClient({ socketPath: controlSocketPath(join(dir, 'tenant')) })
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    let deadline = 0; let leaseAt = 0; let leaseT = 0; let url = ''; let order = ''
    for await (const line of tenant.stream<any>('POST', '/v1/deploy', { sdl: web.replace('GREETING=hello', `GREETING=run-${i}`), bidWindowMs })) {
      if (line.event?.type === 'deploy:order-published') deadline = line.event.detail.bidDeadline
      if (line.event?.type === 'deploy:lease-final') { leaseAt = Date.now(); leaseT = performance.now() }
      if (line.error != null) throw new Error(`run ${i}: ${line.error.message}`)
      if (line.result != null) { url = line.result.services[0].urls[0]; order = line.result.order }
    }
    let ok = false
    for (let k = 0; k < 400 && !ok; k++) {
      ok = await fetch(url).then((r) => r.ok).catch(() => false)
      if (!ok) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    if (!ok) throw new Error(`run ${i}: ${url} never answered`)
    const servedT = performance.now()
    const ms = servedT - t0 - bidWindowMs
    const lease = leaseAt - deadline
    total.push(ms); toLease.push(lease); toRunning.push(servedT - leaseT)
    process.stdout.write(`run ${i + 1}/${runs}: ${ms.toFixed(0)} ms beyond the bid window (deadline → lease ${lease} ms)\n`)
    await tenant.post(`/v1/leases/${order}/close`, { reason: 'benchmark run done' })
  }
} finally {
  await devnetDown(dir).catch(() => {})
  rmSync(dir, { recursive: true, force: true })
}
process.stdout.write(`e2e runs=${runs} p50_ms=${pct(total, 0.5).toFixed(0)} p99_ms=${pct(total, 0.99).toFixed(0)} order_to_lease_p50_ms=${pct(toLease, 0.5).toFixed(0)} lease_to_running_p50_ms=${pct(toRunning, 0.5).toFixed(0)} bid_window_ms=${bidWindowMs}\n`)
