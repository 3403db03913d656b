// `souk deploy` to a serving URL on a local devnet, through the daemon's control API (the path the
// CLI takes). The bid window is a fixed wait chosen by the tenant: it is excluded from the totals
// and printed on its own. order_to_lease counts from the bid deadline to the certified lease.
// Each run's page is fetched through the provider's ingress (the stable URL a user gets); on the
// last lease, sequential requests through the ingress and straight to the container's host port
// give the latency the ingress adds. `--wan=continents` runs the devnet on an emulated WAN.
// A run that fails is reported and counted (`first_try_ok=` on the last line), not retried.
//
//   node bench/e2e.ts [--runs=20] [--requests=500] [--bid-window=500] [--wan=continents]
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { devnetUp, devnetDown } from '../src/node/devnet.ts'
import { controlClient } from '../src/api/index.ts'
import { controlSocketPath } from '../src/node/daemon.ts'
import http from 'node:http'

const arg = (name: string, d: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d)
const runs = arg('runs', 20)
const requests = arg('requests', 500)
const bidWindowMs = arg('bid-window', 500)
/** --wan=continents: every devnet node dials through that emulated network (docs/wan-emulation.md) */
const wan = process.argv.find((a) => a.startsWith('--wan='))?.split('=')[1]
if (process.env.DOCKER_HOST == null) { process.stderr.write('bench:e2e needs a Docker engine: set DOCKER_HOST (see .ci/run)\n'); process.exit(1) }

const dir = mkdtempSync(join(tmpdir(), 'souk-bench-e2e-'))
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))] }
const web = readFileSync(new URL('../examples/web.yaml', import.meta.url), 'utf8')
const total: number[] = []; const toLease: number[] = []; const toRunning: number[] = []
const viaIngress: number[] = []; const direct: number[] = []
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const failures: string[] = []
/** GET as curl and browsers do: a `*.localhost` name is loopback (getaddrinfo does not know that everywhere) */
const get = async (url: string): Promise<number> => await new Promise((resolve, reject) => {
  const u = new URL(url)
  http.get({ host: u.hostname.endsWith('.localhost') ? '127.0.0.1' : u.hostname, port: Number(u.port || 80), path: u.pathname, headers: { host: u.host }, agent }, (res) => {
    res.resume()
    res.on('end', () => resolve(res.statusCode ?? 0))
  }).on('error', reject)
})
const tenant = controlClient({ socketPath: controlSocketPath(join(dir, 'tenant')) })
try {
  await devnetUp(dir, { bidWindowMs, ...(wan != null ? { wan: { profile: wan as any, seed: 1 } } : {}) })
  for (let i = 0; i < runs; i++) {
    try {
      await oneRun(i)
    } catch (err) {
      // a run that fails is counted, not retried: the figure is how many deployments work on the first try
      failures.push(err instanceof Error ? err.message : String(err))
      process.stdout.write(`run ${i + 1}/${runs}: FAILED: ${failures.at(-1)!}\n`)
    }
  }
} finally {
  await devnetDown(dir).catch(() => {})
  rmSync(dir, { recursive: true, force: true })
}

async function oneRun (i: number): Promise<void> {
  const t0 = performance.now()
  let deadline = 0; let leaseAt = 0; let leaseT = 0; let url = ''; let order = ''
  for await (const line of tenant.stream<any>('POST', '/v1/deploy', { sdl: web.replace('GREETING=hello', `GREETING=run-${i}`), bidWindowMs })) {
    if (line.event?.type === 'deploy:order-published') deadline = line.event.detail.bidDeadline
    if (line.event?.type === 'deploy:lease-final') { leaseAt = Date.now(); leaseT = performance.now() }
    if (line.error != null) throw new Error(String(line.error.message))
    if (line.result != null) { url = line.result.services[0].urls[0]; order = line.result.order }
  }
  let ok = false
  for (let k = 0; k < 400 && !ok; k++) {
    ok = await get(url).then((code) => code === 200).catch(() => false)
    if (!ok) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  if (!ok) throw new Error(`${url} never answered`)
  const servedT = performance.now()
  const ms = servedT - t0 - bidWindowMs
  const lease = leaseAt - deadline
  total.push(ms); toLease.push(lease); toRunning.push(servedT - leaseT)
  process.stdout.write(`run ${i + 1}/${runs}: ${ms.toFixed(0)} ms beyond the bid window (deadline → lease ${lease} ms) ${url}\n`)
  if (i === runs - 1) {
    const st: any = await tenant.get(`/v1/leases/${order}`)
    const hostPort = st.provider.deployed.services[0].urls.find((u: any) => u.host === '127.0.0.1')?.url
    if (hostPort == null) throw new Error('no host-port URL to compare with')
    // interleaved, so both see the same machine load
    for (let k = 0; k < requests; k++) {
      let t = performance.now(); await get(url); viaIngress.push(performance.now() - t)
      t = performance.now(); await get(hostPort); direct.push(performance.now() - t)
    }
    process.stdout.write(`${requests} requests on one keep-alive connection each: through the ingress ${url} p50 ${pct(viaIngress, 0.5).toFixed(3)} ms, straight to ${hostPort} p50 ${pct(direct, 0.5).toFixed(3)} ms\n`)
  }
  await tenant.post(`/v1/leases/${order}/close`, { reason: 'benchmark run done' })
}
agent.destroy()
for (const f of failures) process.stdout.write(`a failed run: ${f}\n`)
process.stdout.write(`e2e runs=${runs} first_try_ok=${runs - failures.length}/${runs} p50_ms=${pct(total, 0.5).toFixed(0)} p99_ms=${pct(total, 0.99).toFixed(0)} order_to_lease_p50_ms=${pct(toLease, 0.5).toFixed(0)} lease_to_running_p50_ms=${pct(toRunning, 0.5).toFixed(0)} bid_window_ms=${bidWindowMs} via_ingress=1 ingress_request_p50_ms=${pct(viaIngress, 0.5).toFixed(3)} direct_request_p50_ms=${pct(direct, 0.5).toFixed(3)} ingress_added_p50_ms=${(pct(viaIngress, 0.5) - pct(direct, 0.5)).toFixed(3)} ingress_request_p99_ms=${pct(viaIngress, 0.99).toFixed(3)} direct_request_p99_ms=${pct(direct, 0.99).toFixed(3)} wan=${wan ?? 'none'}\n`)
