// Failover on a devnet of real processes: per run, a deployment with failover serves, its provider
// is killed with SIGKILL, and the clock runs until the page is served again by the other provider.
// detect = kill → the tenant's node declares the provider lost (tenant.failover.lostAfterMs, 3 s
// here, plus up to one probe interval); total = kill → served again. Between runs the killed
// provider starts again (its record now holds a loss, so the tenant accepts any failure share).
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { devnetUp, devnetDown, devnetStart } from '../src/node/devnet.ts'
import { controlClient } from '../src/api/index.ts'
import { controlSocketPath } from '../src/node/daemon.ts'
import { failoverTrial, TRIAL_FAILOVER } from './failover-trial.ts'

const arg = (name: string, d: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d)
const runs = arg('runs', 5)
if (process.env.DOCKER_HOST == null) { process.stderr.write('bench:failover needs a Docker engine: set DOCKER_HOST\n'); process.exit(1) }

const dir = mkdtempSync(join(tmpdir(), 'souk-bench-failover-'))
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] }
const detect: number[] = []; const total: number[] = []
try {
  await devnetUp(dir, {
    providers: 2,
    bidWindowMs: 1000,
    settings: { tenant: { failover: TRIAL_FAILOVER, accept: '{ maxFailurePermille: 1000, minServed: 0, allow: [], deny: [] }' } }
  })
  const tenant = controlClient({ socketPath: controlSocketPath(join(dir, 'tenant')) })
  for (let i = 0; i < runs; i++) {
    const r = await failoverTrial(dir, `run-${i}`)
    detect.push(r.detectMs); total.push(r.servedMs)
    process.stdout.write(`run ${i + 1}/${runs}: lost after ${r.detectMs} ms, served again after ${r.servedMs} ms (${r.killed.name} killed)\n`)
    await tenant.post(`/v1/leases/${r.next.order}/close`, { reason: 'bench run done' })
    await devnetStart(dir, r.killed.name)
  }
  process.stdout.write(`failover runs=${runs} detect_p50_ms=${pct(detect, 0.5)} detect_max_ms=${Math.max(...detect)} p50_ms=${pct(total, 0.5)} max_ms=${Math.max(...total)} lost_after_ms=3000\n`)
} catch (err) {
  // what the tenant's node said, to tell why
  try { process.stderr.write(readFileSync(join(dir, 'tenant', 'node.log'), 'utf8').split('\n').slice(-40).join('\n') + '\n') } catch {}
  throw err
} finally {
  await devnetDown(dir).catch(() => {})
  rmSync(dir, { recursive: true, force: true })
}
