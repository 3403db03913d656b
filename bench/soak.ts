// npm run soak [-- --minutes 10 --providers 1]
//
// A devnet of real processes under steady deploys and closes for a while; every node's resident
// memory and open file descriptors are sampled from /proc every few seconds. Growth compares the
// last fifth of the run with the fifth after warm-up (the second), summed over all nodes, so a
// leak shows as growth that does not level off. RSS also holds what the collector has not yet
// reclaimed, so the nodes run with --trace-gc and the heap left after each full collection is
// compared the same way (heap_growth_pct). Last line:
//   soak minutes=… deploys=… failed=… rss_growth_pct=… fds_growth=…
import { mkdtempSync, rmSync, readFileSync, readdirSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { devnetUp, devnetDown } from '../src/node/devnet.ts'
import { controlClient } from '../src/api/index.ts'
import { controlSocketPath } from '../src/node/daemon.ts'
import { webSdl } from './chaos/workload.ts'

const argv = process.argv.slice(2)
const opt = (name: string, d: number): number => {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (i < 0) return d
  return Number(argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1])
}
const minutes = opt('minutes', 10)
const providers = opt('providers', 1)
const sampleMs = opt('sample-seconds', 5) * 1000
if (process.env.DOCKER_HOST == null) { process.stderr.write('soak needs a Docker engine: set DOCKER_HOST\n'); process.exit(1) }

const dir = mkdtempSync(join(tmpdir(), 'souk-soak-'))
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

function rssKiB (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m == null ? 0 : Number(m[1])
}
const fds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length

interface Sample { at: number, rss: number[], fds: number[] }
const samples: Sample[] = []
let deploys = 0
let failed = 0
let closes = 0

// each collection is a line in the node's log (node refuses --trace-gc in NODE_OPTIONS)
const state = await devnetUp(join(dir, 'devnet'), { validators: 4, providers, bidWindowMs: 500, nodeFlags: ['--trace-gc'] })
const names = state.nodes.map((n) => n.name)
const pids = state.nodes.map((n) => n.pid!)
const tenant = controlClient({ socketPath: controlSocketPath(state.nodes.find((n) => n.role === 'tenant')!.home) })
process.stdout.write(`soak ${minutes} min over ${names.length} nodes in ${dir}\n`)

/** from a node's --trace-gc lines: (ms since the node started, MB live after each full collection), and the last collection of any kind (how long the node ran) */
function gcTrace (logFile: string): { full: Array<{ ms: number, mb: number }>, span: number } {
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''
  const full = [...log.matchAll(/^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/gm)].map((m) => ({ ms: Number(m[1]), mb: Number(m[2]) }))
  const span = [...log.matchAll(/^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: /gm)].reduce((a, m) => Math.max(a, Number(m[1])), 0)
  return { full, span }
}
let fullGcs: Array<ReturnType<typeof gcTrace>> = []

const end = Date.now() + minutes * 60_000
const sampler = setInterval(() => {
  try { samples.push({ at: Date.now(), rss: pids.map(rssKiB), fds: pids.map(fds) }) } catch (err: any) { process.stdout.write(`sample failed: ${String(err?.message ?? err)}\n`) }
}, sampleMs)

try {
  // one lease running at a time beside one being made: deploy, then close the older
  const running: string[] = []
  let i = 0
  while (Date.now() < end) {
    i++
    try {
      let order: string | undefined
      for await (const line of tenant.stream<any>('POST', '/v1/deploy', { sdl: webSdl(`soak-${i}`), bidWindowMs: 500 })) {
        if (line.result != null) order = line.result.order
        if (line.error != null) throw new Error(line.error.message)
      }
      deploys++
      running.push(order!)
    } catch (err: any) {
      failed++
      process.stdout.write(`deploy ${i} failed: ${String(err?.message ?? err).slice(0, 200)}\n`)
      await sleep(1_000)
    }
    while (running.length > 1) {
      const o = running.shift()!
      try { await tenant.post(`/v1/leases/${o}/close`, { reason: 'soak' }); closes++ } catch (err: any) { process.stdout.write(`close failed: ${String(err?.message ?? err).slice(0, 200)}\n`) }
    }
    if (i % 20 === 0) {
      const last = samples.at(-1)
      process.stdout.write(`${Math.round((end - Date.now()) / 1000)} s left: deploys=${deploys} failed=${failed} rss_mib=${last == null ? '?' : (last.rss.reduce((a, b) => a + b, 0) / 1024).toFixed(0)} fds=${last?.fds.reduce((a, b) => a + b, 0) ?? '?'}\n`)
    }
  }
  for (const o of running) await tenant.post(`/v1/leases/${o}/close`, { reason: 'soak done' }).catch(() => {})
} finally {
  clearInterval(sampler)
  await devnetDown(join(dir, 'devnet')).catch(() => {})
  fullGcs = state.nodes.map((n) => gcTrace(join(n.home, 'node.log')))
  rmSync(dir, { recursive: true, force: true })
}


// the second fifth of the run (after warm-up) against the last fifth
const fifth = Math.max(1, Math.floor(samples.length / 5))
const window = (from: number): Sample[] => samples.slice(from, from + fifth)
const base = window(fifth)
const tail = samples.slice(-fifth)
const mean = (xs: Sample[], k: 'rss' | 'fds', node?: number): number => xs.reduce((a, s) => a + (node == null ? s[k].reduce((x, y) => x + y, 0) : s[k][node]), 0) / Math.max(1, xs.length)
for (const [n, name] of names.entries()) {
  process.stdout.write(`${name.padEnd(12)} rss ${(mean(base, 'rss', n) / 1024).toFixed(1)} → ${(mean(tail, 'rss', n) / 1024).toFixed(1)} MiB  fds ${mean(base, 'fds', n).toFixed(0)} → ${mean(tail, 'fds', n).toFixed(0)}\n`)
}
const rssGrowth = 100 * (mean(tail, 'rss') - mean(base, 'rss')) / Math.max(1, mean(base, 'rss'))
const fdsGrowth = Math.round(mean(tail, 'fds') - mean(base, 'fds'))
process.stdout.write(`closes=${closes} samples=${samples.length}\n`)
// live heap: full collections in the second fifth of each node's run against those in its last fifth
const median = (xs: number[]): number | undefined => xs.length === 0 ? undefined : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
let heapBase = 0
let heapTail = 0
let heapNodes = 0
for (const [n, { full: xs, span }] of fullGcs.entries()) {
  const b = median(xs.filter((x) => x.ms >= span * 0.2 && x.ms < span * 0.4).map((x) => x.mb))
  const t = median(xs.filter((x) => x.ms >= span * 0.8).map((x) => x.mb))
  process.stdout.write(`${names[n].padEnd(12)} live heap after full GC ${b?.toFixed(1) ?? '?'} → ${t?.toFixed(1) ?? '?'} MB (${xs.length} full collections)\n`)
  if (b != null && t != null) { heapBase += b; heapTail += t; heapNodes++ }
}
// nodes with a full collection in both windows only: a short run may have too few to compare
process.stdout.write(`soak heap_growth_pct=${heapBase > 0 ? (100 * (heapTail - heapBase) / heapBase).toFixed(1) : '?'} heap_nodes=${heapNodes}/${names.length}\n`)
process.stdout.write(`soak minutes=${minutes} deploys=${deploys} failed=${failed} rss_growth_pct=${rssGrowth.toFixed(1)} fds_growth=${fdsGrowth}\n`)
