// Resident memory of idle daemons, one per role: a small devnet on loopback (one validator, one
// Docker provider, one tenant, each its own `souk node start` process), left alone for a minute,
// then each process's VmRSS from /proc. What a node holds before it does any work is what every
// operator pays on every machine, whatever the traffic. A node that starts first after its sources
// changed strips their types itself and holds ~20 MB more (bin/souk, Node's compile cache): the
// second run of this benchmark is the steady figure.
//   --idle=<seconds>   how long the nodes sit idle before the reading (default 60)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { devnetUp, devnetDown } from '../src/node/devnet.ts'
import type { DevnetNode } from '../src/node/devnet.ts'
import { errorMessage } from '../src/util/index.ts'

const idleSeconds = Number(process.argv.find((a) => a.startsWith('--idle='))?.split('=')[1] ?? 60)
if (!Number.isFinite(idleSeconds) || idleSeconds < 0) { process.stderr.write('bench:idle: --idle must be a number of seconds\n'); process.exit(1) }
if (process.env.DOCKER_HOST == null) { process.stderr.write('bench:idle needs a Docker engine for its provider: set DOCKER_HOST (see .ci/run)\n'); process.exit(1) }

/** a field of /proc/PID/status in MB (the kernel writes it in kB) */
function procStatusMb (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m == null) throw new Error(`/proc/${pid}/status has no ${field}`)
  return Number(m[1]) / 1024
}

const dir = mkdtempSync(join(tmpdir(), 'souk-bench-idle-'))
let code = 0
try {
  const state = await devnetUp(dir, { validators: 1, providers: 1 })
  process.stdout.write(`devnet up: ${state.nodes.map((n) => `${n.name} (pid ${String(n.pid)})`).join(', ')}; idle for ${idleSeconds} s\n`)
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000))
  const byRole = new Map<DevnetNode['role'], number>()
  for (const n of state.nodes) {
    if (n.pid == null) throw new Error(`${n.name} has no process`)
    const rss = procStatusMb(n.pid, 'VmRSS')
    process.stdout.write(`${n.name.padEnd(12)} rss ${rss.toFixed(1)} MB  peak ${procStatusMb(n.pid, 'VmHWM').toFixed(1)} MB\n`)
    byRole.set(n.role, rss)
  }
  const mb = (role: DevnetNode['role']): string => (byRole.get(role) ?? NaN).toFixed(0)
  process.stdout.write(`idle tenant_mb=${mb('tenant')} validator_mb=${mb('validator')} provider_mb=${mb('provider')}\n`)
} catch (err) {
  process.stderr.write(`bench:idle: ${errorMessage(err)}\n`)
  code = 1
} finally {
  await devnetDown(dir).catch(() => {})
  rmSync(dir, { recursive: true, force: true })
}
process.exit(code)
