// Gossip benchmark: many real souk nodes on this machine, spread over worker processes, joined in
// a sparse random topology over loopback TCP. Random nodes publish signed orders at a fixed rate;
// every delivery is timed against the order's creation time (one machine, one clock). Then: the
// bytes each node's connections carried per order, provider lookups through the DHT (time and
// hops), and a new node's join (orders mesh, then the open orders pulled over /souk/sync).
//
//   node bench/gossip.ts --nodes 100 --rate 50 --seconds 20 [--procs <cores>] [--degree 3] [--settle 10]
//     [--wan lan|continents|lossy] [--seed n]   (every dial through the WAN emulation, nodes spread over its regions)
//     [--providers 5] [--lookups 10] [--timeout 900]   (seconds for the whole run; past it, workers are killed)
//     [--heartbeat ms] [--D n] [--Dlo n] [--Dhi n] [--Dlazy n] [--gossip-factor x] [--mcache-gossip n] [--no-flood]
//     [--timeline]   (latency by the second the order was created)
//
// The mesh settings default to souk's own (src/net/constants.ts); the flags are for experiments.
// Load starts once discovery has settled (--settle seconds, 10 by default): the DHT connects a new
// network's nodes to each other for several seconds, and the target is about a running network.
//
// Last line: gossip nodes=… rate=… delivered_pct=… p50_ms=… p99_ms=… bytes_per_node_per_order=…
//   join_s=… dht_ms_p50=… dht_hops_p50=… rss_mb_per_node=… wan=…
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { availableParallelism } from 'node:os'
import type { FromWorker, ToWorker, WanChoice } from './gossip/protocol.ts'
import { spreadRegion, tcpTarget, wanProfile } from '../src/net/wan/index.ts'
import type { ProfileName, Region } from '../src/net/wan/index.ts'
import { multiaddr } from '@multiformats/multiaddr'

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
const wanArg = process.argv.indexOf('--wan')
const WAN: WanChoice | undefined = wanArg < 0 ? undefined : { profile: wanProfile(process.argv[wanArg + 1]).name as ProfileName, seed: Math.floor(arg('seed', 1, 0)) }
const PROVIDERS = Math.floor(arg('providers', 5, 1))
const LOOKUPS = Math.floor(arg('lookups', 10, 1))
const TIMEOUT_S = arg('timeout', 900, 10)

interface Worker { proc: ChildProcess, nodes: number, first: number, inbox: FromWorker[], waiters: Array<() => void> }

const workers: Worker[] = []
const base = Math.floor(N / PROCS)
let first = 0
for (let p = 0; p < PROCS; p++) {
  const nodes = base + (p < N % PROCS ? 1 : 0)
  const proc = fork(new URL('./gossip/worker.ts', import.meta.url).pathname, [], { execArgv: ['--expose-gc', ...(process.env.SOUK_BENCH_PROF != null ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SOUK_BENCH_PROF}`] : [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const w: Worker = { proc, nodes, first, inbox: [], waiters: [] }
  proc.on('exit', (code, signal) => { if (!finished) console.error(`worker ${p} exited (${signal ?? code})`) })
  proc.on('message', (m: FromWorker) => {
    if (m.type === 'error') { console.error(`worker ${p}: ${m.message}`); return }
    if (m.type === 'published') { onPublished(m); return }
    w.inbox.push(m)
    for (const wake of w.waiters.splice(0)) wake()
  })
  workers.push(w)
  first += nodes
}

let finished = false
const killAll = (): void => { for (const w of workers) if (w.proc.exitCode == null && w.proc.signalCode == null) w.proc.kill('SIGKILL') }
const deadline = setTimeout(() => {
  console.error(`gossip: not done after ${TIMEOUT_S} s; stopping the workers`)
  killAll()
  process.exit(1)
}, TIMEOUT_S * 1000)
deadline.unref()
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { killAll(); process.exit(130) })

const publishedIds = new Set<string>()
let publishFailures = 0
function onPublished (m: Extract<FromWorker, { type: 'published' }>): void {
  orderSize = m.size
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

const bytes = async (): Promise<number> => (await ask({ type: 'bytes?' }, 'bytes')).reduce((s, b) => s + b.bytes, 0)
// the size of one benchmark order as signed, for scale
const orderEnvelopeBytes = (): number => orderSize
let orderSize = 0
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
  for (const w of workers) tell(w, { type: 'start', nodes: w.nodes, first: w.first, gossip: GOSSIP, wan: WAN })
  const addrs: string[] = []
  for (const w of workers) addrs.push(...(await next(w, 'started', 600_000)).addrs)
  console.log(`started ${N} nodes in ${PROCS} processes in ${Date.now() - tStart} ms`)
  if (WAN != null) {
    // node g is in region g mod 5; every worker learns every listener's region
    const peers: Record<string, Region> = {}
    addrs.forEach((a, g) => { const t = tcpTarget(multiaddr(a))!; peers[`${t.host}:${t.port}`] = spreadRegion(g) })
    for (const w of workers) tell(w, { type: 'regions', peers })
    console.log(`WAN profile ${WAN.profile} (seed ${WAN.seed}): ${wanProfile(WAN.profile).description}`)
  }

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
  for (const w of workers) failures += (await next(w, 'dialed', 600_000)).failures
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
  const idleBytes0 = await bytes()
  const idleT0 = Date.now()
  const idle = await watch(3_000)
  const idleBytesPerS = (await bytes() - idleBytes0) / ((Date.now() - idleT0) / 1000)
  console.log(`idle: ${idle.connections.toFixed(1)} connections and ${idle.mesh.toFixed(1)} orders mesh peers per node, ${idle.cpuPct.toFixed(0)} % of one core for all nodes`)
  const rss = await ask({ type: 'rss?' }, 'rss')
  const rssTotal = rss.reduce((s, r) => s + r.rss, 0)
  const rssPerNode = rssTotal / N / (1024 * 1024)
  console.log(`idle RSS: ${rss.map((r) => `${(r.rss / 1048576).toFixed(0)} MB/${r.nodes} nodes`).join(', ')}; heap ${rss.map((r) => (r.heapUsed / 1048576).toFixed(0)).join('/')} MB`)

  // load: RATE orders a second from random nodes
  const total = Math.round(RATE * SECONDS)
  const interval = 1000 / RATE
  const load0 = await cpuMs()
  const loadBytes0 = await bytes()
  const loadStart = Date.now()
  for (let k = 0; k < total; k++) {
    const due = loadStart + k * interval
    const wait = due - Date.now()
    if (wait > 0) await sleep(wait)
    const { w, local } = where(Math.floor(Math.random() * N))
    tell(w, { type: 'publish', node: local })
  }
  const loadMs = Date.now() - loadStart
  // drain: until deliveries stop growing (or every one is in), at least DRAIN_MS, at most 30 s
  const deliveries = async (): Promise<number> => (await ask({ type: 'count?' }, 'count')).reduce((s, c) => s + c.deliveries, 0)
  const drainStart = Date.now()
  await sleep(DRAIN_MS)
  for (let last = -1, d = await deliveries(); d !== last && d < publishedIds.size * (N - 1) && Date.now() - drainStart < 30_000; last = d, d = await deliveries()) await sleep(1_000)
  const loadWindowS = (Date.now() - loadStart) / 1000
  const loadBytes = await bytes() - loadBytes0
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

  // bytes: every connection counted once (by its dialer), both directions; per node = what one node
  // sends (and, on average, receives); the idle traffic of the same window (DHT, heartbeats) is taken off
  const orderBytes = Math.max(0, loadBytes - idleBytesPerS * loadWindowS)
  const bytesPerNodePerOrder = publishedIds.size === 0 ? NaN : orderBytes / N / publishedIds.size
  console.log(`bytes: ${(loadBytes / 1048576).toFixed(1)} MiB on all connections during load and drain (${loadWindowS.toFixed(1)} s), idle ${(idleBytesPerS / 1024).toFixed(0)} KiB/s; ${bytesPerNodePerOrder.toFixed(0)} bytes per node per order (order envelope ${orderEnvelopeBytes()} bytes)`)

  // provider lookup through the DHT: a few nodes provide the role, others look it up
  const pick = (k: number, not: Set<number>): number[] => {
    const out: number[] = []
    for (let i = 0; out.length < k && i < 100 * k; i++) { const g = Math.floor(Math.random() * N); if (!not.has(g) && !out.includes(g)) out.push(g) }
    return out
  }
  const providers = pick(PROVIDERS, new Set())
  const t0 = Date.now()
  const byWorker = new Map<Worker, number[]>()
  for (const g of providers) { const { w, local } = where(g); byWorker.set(w, [...(byWorker.get(w) ?? []), local]) }
  let provideFailures = 0
  await Promise.all([...byWorker].map(async ([w, locals]) => { tell(w, { type: 'provide', nodes: locals }); provideFailures += (await next(w, 'provided', 120_000)).failures }))
  console.log(`dht: ${providers.length} nodes provided the role in ${Date.now() - t0} ms (${provideFailures} failed)`)
  const lookups: Array<Extract<FromWorker, { type: 'found' }>> = []
  for (const g of pick(LOOKUPS, new Set(providers))) {
    const { w, local } = where(g)
    tell(w, { type: 'find', node: local, timeoutMs: 30_000 })
    lookups.push(await next(w, 'found', 60_000))
  }
  const found = lookups.filter((l) => l.found)
  const dhtMs = found.map((l) => l.ms).sort((a, b) => a - b)
  const hops = found.map((l) => l.hops).sort((a, b) => a - b)
  console.log(`dht: ${found.length} of ${lookups.length} lookups found a provider; ms p50 ${percentile(dhtMs, 0.5)?.toFixed(0)}, max ${dhtMs.at(-1)?.toFixed(0)}; hops ${hops.join(' ')}; peers asked p50 ${percentile(found.map((l) => l.queries).sort((a, b) => a - b), 0.5)}`)

  // a new node joins: dials three nodes, gets an orders mesh and pulls the open orders
  const entry = where(0).w
  tell(entry, { type: 'join', index: N, bootstrap: pick(3, new Set()).map((g) => addrs[g]), timeoutMs: 60_000 })
  const join = await next(entry, 'joined', 120_000)
  if (join.error != null) console.log(`join: failed: ${join.error}`)
  else console.log(`join: orders mesh after ${join.meshMs.toFixed(0)} ms, ${join.synced} open orders pulled after ${join.syncMs.toFixed(0)} ms (sync reads at most ${200} a second), ${join.connections} connections`)

  await ask({ type: 'stop' }, 'stopped', 60_000).catch(() => [])
  finished = true
  // let workers exit on their own (a profile is written at exit), then make sure
  await Promise.all(workers.map(async (w) => {
    for (let i = 0; i < 50 && w.proc.exitCode == null && w.proc.signalCode == null; i++) await sleep(100)
    if (w.proc.exitCode == null && w.proc.signalCode == null) w.proc.kill()
  }))
  const f1 = (v: number | undefined): string => v == null || !Number.isFinite(v) ? 'NaN' : v.toFixed(1)
  console.log(`gossip nodes=${N} rate=${RATE} delivered_pct=${pct.toFixed(2)} p50_ms=${percentile(latencies, 0.5)} p90_ms=${percentile(latencies, 0.9)} p99_ms=${percentile(latencies, 0.99)} bytes_per_node_per_order=${bytesPerNodePerOrder.toFixed(0)} join_s=${join.joinMs < 0 ? 'NaN' : (join.joinMs / 1000).toFixed(2)} join_synced=${join.synced} dht_ms_p50=${f1(percentile(dhtMs, 0.5))} dht_hops_p50=${percentile(hops, 0.5) ?? 'NaN'} dht_found=${found.length}/${lookups.length} rss_mb_per_node=${rssPerNode.toFixed(1)} wan=${WAN?.profile ?? 'none'}`)
  clearTimeout(deadline)
}

run().catch((err) => {
  console.error(err)
  killAll()
  process.exitCode = 1
})
