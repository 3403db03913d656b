// Gossip benchmark: many real souk nodes on this machine, spread over worker processes, joined in
// a sparse random topology over loopback TCP. Random nodes publish signed orders at a fixed rate;
// every delivery is timed against the order's creation time (one machine, one clock).
//
//   node bench/gossip.ts --nodes 100 --rate 50 --seconds 20 [--procs <cores>] [--degree 3] [--settle 10]
//     [--heartbeat ms] [--D n] [--Dlo n] [--Dhi n] [--Dlazy n] [--gossip-factor x] [--mcache-gossip n] [--no-flood]
//     [--timeline]   (latency by the second the order was created)
//
// The mesh settings default to souk's own (src/net/constants.ts); the flags are for experiments.
// Load starts once discovery has settled (--settle seconds, 10 by default): the DHT connects a new
// network's nodes to each other for several seconds, and the target is about a running network.
//
// Last line: gossip nodes=… rate=… delivered_pct=… p50_ms=… p99_ms=… rss_mb_per_node=…
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'
import type { FromWorker, ToWorker } from './gossip/protocol.ts'

function arg (name: string, def: number, min = Number.MIN_VALUE): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return def
  const v = Number(process.argv[i + 1])
  if (!Number.isFinite(v) || v < min) throw new Error(`--${name} needs a number of at least ${min}`)
  return v
}

const N = Math.floor(arg('nodes', 100))
const RATE = arg('rate', 50)
const SECONDS = arg('seconds', 20)
// one process a core: more processes than cores only add scheduling delay to every hop between them
const PROCS = Math.min(N, Math.floor(arg('procs', Math.max(2, availableParallelism()))))
const DEGREE = Math.floor(arg('degree', 3))
/** a flag that overrides a souk default only when given */
const given = (name: string, min?: number): number | undefined => process.argv.includes(`--${name}`) ? arg(name, 0, min) : undefined
const int = (v: number | undefined): number | undefined => v == null ? undefined : Math.floor(v)
const GOSSIP = {
  heartbeatMs: int(given('heartbeat')),
  D: int(given('D')),
  Dlo: int(given('Dlo', 1)),
  Dhi: int(given('Dhi', 1)),
  Dlazy: int(given('Dlazy', 0)),
  gossipFactor: given('gossip-factor', 0),
  mcacheGossip: int(given('mcache-gossip')),
  floodPublish: process.argv.includes('--no-flood') ? false : undefined
}
const SETTLE = arg('settle', 10, 0)
const DRAIN_MS = 3_000
const TIMELINE = process.argv.includes('--timeline')

interface Worker { proc: ChildProcess, nodes: number, first: number, inbox: FromWorker[], waiters: Array<() => void> }

const workers: Worker[] = []
const base = Math.floor(N / PROCS)
let first = 0
for (let p = 0; p < PROCS; p++) {
  const nodes = base + (p < N % PROCS ? 1 : 0)
  const proc = fork(new URL('./gossip/worker.ts', import.meta.url).pathname, [], { execArgv: ['--expose-gc', ...(process.env.SOUK_BENCH_PROF != null ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SOUK_BENCH_PROF}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const w: Worker = { proc, nodes, first, inbox: [], waiters: [] }
  proc.on('message', (m: FromWorker) => {
    if (m.type === 'error') { console.error(`worker ${p}: ${m.message}`); return }
    if (m.type === 'published') { onPublished(m); return }
    w.inbox.push(m)
    for (const wake of w.waiters.splice(0)) wake()
  })
  workers.push(w)
  first += nodes
}

const publishedIds = new Set<string>()
let publishFailures = 0
function onPublished (m: Extract<FromWorker, { type: 'published' }>): void {
  if (m.recipients >= 0) publishedIds.add(m.id)
  else publishFailures++
}

async function next<T extends FromWorker['type']> (w: Worker, type: T, ms = 120_000): Promise<Extract<FromWorker, { type: T }>> {
  const end = Date.now() + ms
  for (;;) {
    const i = w.inbox.findIndex((m) => m.type === type)
    if (i >= 0) return w.inbox.splice(i, 1)[0] as Extract<FromWorker, { type: T }>
    if (Date.now() > end) throw new Error(`worker did not answer ${type} within ${ms} ms`)
    await new Promise<void>((resolve) => { w.waiters.push(resolve); setTimeout(resolve, 1000) })
  }
}

const tell = (w: Worker, m: ToWorker): void => { w.proc.send(m) }
const ask = async <T extends FromWorker['type']>(m: ToWorker, type: T, ms?: number): Promise<Array<Extract<FromWorker, { type: T }>>> => {
  for (const w of workers) tell(w, m)
  return await Promise.all(workers.map(async (w) => await next(w, type, ms)))
}
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const where = (g: number): { w: Worker, local: number } => {
  const w = workers.find((x) => g >= x.first && g < x.first + x.nodes)!
  return { w, local: g - w.first }
}

function percentile (sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

const cpuMs = async (): Promise<number> => (await ask({ type: 'cpu?' }, 'cpu')).reduce((s, c) => s + c.userMs + c.systemMs, 0)

/** connections per node now, and the CPU all nodes used over the next `ms` (% of one core) */
async function watch (ms: number): Promise<{ connections: number, mesh: number, cpuPct: number }> {
  const c0 = await cpuMs()
  const t0 = Date.now()
  await sleep(ms)
  const cpuPct = 100 * (await cpuMs() - c0) / (Date.now() - t0)
  const m = await ask({ type: 'mesh?' }, 'mesh')
  return { connections: m.reduce((s, x) => s + x.connections, 0) / N, mesh: m.reduce((s, x) => s + x.meshPeers, 0) / N, cpuPct }
}

async function run (): Promise<void> {
  const tStart = Date.now()
  // start nodes in every worker
  for (const w of workers) tell(w, { type: 'start', nodes: w.nodes, gossip: GOSSIP })
  const addrs: string[] = []
  for (const w of workers) addrs.push(...(await next(w, 'started')).addrs)
  console.log(`started ${N} nodes in ${PROCS} processes in ${Date.now() - tStart} ms`)

  // sparse random topology: a ring for connectivity plus DEGREE random links per node
  const plans = new Map<Worker, Array<{ node: number, addrs: string[] }>>(workers.map((w) => [w, []]))
  let links = 0
  for (let g = 0; g < N; g++) {
    const targets = new Set<number>([(g + 1) % N])
    for (let k = 0; targets.size < Math.min(DEGREE + 1, N - 1) && k < 100; k++) {
      const t = Math.floor(Math.random() * N)
      if (t !== g) targets.add(t)
    }
    targets.delete(g)
    links += targets.size
    const { w, local } = where(g)
    plans.get(w)!.push({ node: local, addrs: [...targets].map((t) => addrs[t]) })
  }
  for (const w of workers) tell(w, { type: 'dial', plan: plans.get(w)! })
  let failures = 0
  for (const w of workers) failures += (await next(w, 'dialed')).failures
  console.log(`dialed ${links} links (${failures} failed)`)

  // wait for every node to have an orders mesh, then let it settle
  for (let i = 0; i < 60; i++) {
    const m = await ask({ type: 'mesh?' }, 'mesh')
    const ready = m.reduce((s, x) => s + x.ready, 0)
    if (ready === N) { console.log(`every node has an orders mesh (smallest ${Math.min(...m.map((x) => x.minMesh))})`); break }
    await sleep(500)
  }
  await sleep(2_000)
  // a network that has been up a while: let discovery settle, reporting what it costs
  for (let t = 0; t < SETTLE; t += 5) {
    const s = await watch(5_000)
    console.log(`settling: ${s.connections.toFixed(1)} connections per node, ${s.cpuPct.toFixed(0)} % of one core`)
  }
  const idle = await watch(3_000)
  console.log(`idle: ${idle.connections.toFixed(1)} connections and ${idle.mesh.toFixed(1)} orders mesh peers per node, ${idle.cpuPct.toFixed(0)} % of one core for all nodes`)
  const rss = await ask({ type: 'rss?' }, 'rss')
  const rssTotal = rss.reduce((s, r) => s + r.rss, 0)
  const rssPerNode = rssTotal / N / (1024 * 1024)
  console.log(`idle RSS: ${rss.map((r) => `${(r.rss / 1048576).toFixed(0)} MB/${r.nodes} nodes`).join(', ')}; heap ${rss.map((r) => (r.heapUsed / 1048576).toFixed(0)).join('/')} MB`)

  // load: RATE orders a second from random nodes
  const total = Math.round(RATE * SECONDS)
  const interval = 1000 / RATE
  const load0 = await cpuMs()
  const loadStart = Date.now()
  for (let k = 0; k < total; k++) {
    const due = loadStart + k * interval
    const wait = due - Date.now()
    if (wait > 0) await sleep(wait)
    const { w, local } = where(Math.floor(Math.random() * N))
    tell(w, { type: 'publish', node: local })
  }
  const loadMs = Date.now() - loadStart
  await sleep(DRAIN_MS)
  console.log(`load: ${(100 * (await cpuMs() - load0) / (Date.now() - loadStart)).toFixed(0)} % of one core for all nodes`)

  const reports = await ask({ type: 'report?' }, 'report')
  const received = new Map<string, number>()
  const latencies: number[] = []
  for (const r of reports) {
    for (const [id, n] of Object.entries(r.received)) received.set(id, (received.get(id) ?? 0) + n)
    for (const l of r.latencies) latencies.push(l)
  }
  let delivered = 0
  for (const id of publishedIds) delivered += Math.min(received.get(id) ?? 0, N - 1)
  const expected = publishedIds.size * (N - 1)
  const pct = expected === 0 ? 0 : (100 * delivered) / expected
  latencies.sort((a, b) => a - b)
  console.log(`published ${publishedIds.size} of ${total} orders in ${loadMs} ms (${publishFailures} failed); ${delivered} of ${expected} deliveries`)
  console.log(`latency ms: p50 ${percentile(latencies, 0.5)}, p90 ${percentile(latencies, 0.9)}, p99 ${percentile(latencies, 0.99)}, max ${latencies.at(-1)}`)
  if (TIMELINE) {
    // latency by when the order was created: shows whether the tail is spread out or in bursts
    const buckets = new Map<number, number[]>()
    for (const r of reports) {
      for (let i = 0; i < r.latencies.length; i++) {
        const b = Math.floor((r.created[i] - loadStart) / 1000)
        let l = buckets.get(b)
        if (l == null) { l = []; buckets.set(b, l) }
        l.push(r.latencies[i])
      }
    }
    for (const [b, l] of [...buckets].sort((x, y) => x[0] - y[0])) {
      l.sort((x, y) => x - y)
      console.log(`  second ${b}: ${l.length} deliveries, p50 ${percentile(l, 0.5)}, p99 ${percentile(l, 0.99)}, max ${l.at(-1)}`)
    }
  }

  await ask({ type: 'stop' }, 'stopped', 30_000).catch(() => [])
  // let workers exit on their own (a profile is written at exit), then make sure
  await Promise.all(workers.map(async (w) => {
    for (let i = 0; i < 50 && w.proc.exitCode == null && w.proc.signalCode == null; i++) await sleep(100)
    if (w.proc.exitCode == null && w.proc.signalCode == null) w.proc.kill()
  }))
  console.log(`gossip nodes=${N} rate=${RATE} delivered_pct=${pct.toFixed(2)} p50_ms=${percentile(latencies, 0.5)} p99_ms=${percentile(latencies, 0.99)} rss_mb_per_node=${rssPerNode.toFixed(1)}`)
}

run().catch((err) => {
  console.error(err)
  for (const w of workers) w.proc.kill()
  process.exitCode = 1
})
