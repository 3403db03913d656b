// Committee throughput and finality: 4 validators, one per worker thread, over the real code path
// (ed25519 signing and verifying, sqlite stores with synced votes, consensus, matching,
// certificates). A steady stream of orders, each answered by 3 providers' bids, reaches every
// validator as gossip would; the bench measures leases per second, finality after the bid window
// closes, and the bound ed25519 verification alone puts on this machine (protocols/committee.md,
// "Verification bound").
//
//   node bench/committee.ts [--rate N] [--seconds 8] [--window-ms 300] [--batch-ms 100] [--min-batch-ms 40] [--wan continents]
//
// --wan puts validator i in region i of the profile (docs/wan-emulation.md) and holds each message
// between two validators for the path's one-way delay and jitter, in order per path; bandwidth
// caps and losses are not applied here (the devnet's transport wrapper has them).
//
// Without --rate, the offered load is 50 % of what verification alone allows (measured first);
// above what the committee sustains, orders queue past their bid windows and expire, so the
// rate must stay below capacity for the figures to mean anything.
import { Worker, isMainThread, parentPort, workerData, MessageChannel } from 'node:worker_threads'
import type { MessagePort } from 'node:worker_threads'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { availableParallelism } from 'node:os'
import { signMessage } from '../src/wire/envelope.ts'
import { MessageTag } from '../src/wire/constants.ts'
import type { OrderBody, BidBody } from '../src/wire/index.ts'
import { identityFromSeed } from '../src/identity/identity.ts'
import { verify } from '../src/identity/ed25519.ts'
import { openStore } from '../src/store/index.ts'
import { committeeNode, buildCommittee, signCommitteeFile } from '../src/committee/index.ts'
import type { CommitteeFile } from '../src/committee/index.ts'
import { committeeFileFromJson, committeeFileToJson } from '../src/committee/committee-file.ts'
import { wanProfile, spreadRegion } from '../src/net/wan/index.ts'
import { benchOrder, benchBid } from './committee-items.ts'

const N = 4
const PROVIDERS = 3
const TENANTS = 32
const VERIFY_PROBE_MS = 1000

interface Args { rate: number, seconds: number, windowMs: number, batchMs: number, minBatchMs?: number, wan?: string }

function parse (argv: string[]): Args {
  const a: Args = { rate: 0, seconds: 8, windowMs: 300, batchMs: 100 }
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1])
    if (argv[i] === '--rate') a.rate = v
    else if (argv[i] === '--seconds') a.seconds = v
    else if (argv[i] === '--window-ms') a.windowMs = v
    else if (argv[i] === '--batch-ms') a.batchMs = v
    else if (argv[i] === '--min-batch-ms') a.minBatchMs = v
    else if (argv[i] === '--wan') a.wan = argv[i + 1]
    else continue
    i++
  }
  return a
}

const seed = (tag: number, i: number): Uint8Array => { const s = new Uint8Array(32); s[0] = tag; s[1] = i; s[31] = 0xbe; return s }

interface Schedule {
  /** all pre-signed envelopes, back to back */
  data: SharedArrayBuffer
  /** per message: offset, length, arrival (ms after t0) */
  index: Float64Array
}

interface WorkerBase { i: number, ports: Array<{ peer: number, port: MessagePort }>, dbPath: string, wan?: string }
interface Go { committee: unknown, schedule: Schedule, t0: number, batchMs: number, minBatchMs?: number, feedMs: number }
type WorkerInit = WorkerBase & Go

/** a probe: ed25519 verifications per second on this thread for `ms` */
function verifyRate (ms: number): number {
  const id = identityFromSeed(seed(9, 0))
  const msg = new Uint8Array(300).fill(3)
  const sig = id.sign(msg)
  let n = 0
  const start = performance.now()
  while (performance.now() - start < ms) {
    for (let k = 0; k < 50; k++) verify(sig, msg, id.publicKey)
    n += 50
  }
  return n / ((performance.now() - start) / 1000)
}

if (isMainThread) {
  const args = parse(process.argv.slice(2))
  if (args.wan != null) {
    try { wanProfile(args.wan) } catch (err: any) { process.stderr.write(`bench:committee: ${String(err?.message ?? err)}\n`); process.exit(1) }
  }
  const dir = mkdtempSync(join(tmpdir(), 'souk-bench-committee-'))
  const validators = Array.from({ length: N }, (_, i) => identityFromSeed(seed(1, i)))
  const tenants = Array.from({ length: TENANTS }, (_, i) => identityFromSeed(seed(2, i)))
  const providers = Array.from({ length: PROVIDERS }, (_, i) => identityFromSeed(seed(3, i)))

  // a port per pair of validators
  const ports: Array<Array<{ peer: number, port: MessagePort }>> = Array.from({ length: N }, () => [])
  for (let a = 0; a < N; a++) {
    for (let b = a + 1; b < N; b++) {
      const ch = new MessageChannel()
      ports[a].push({ peer: b, port: ch.port1 })
      ports[b].push({ peer: a, port: ch.port2 })
    }
  }
  const firstLease = new Map<string, number>()
  const leaseTimes = new Map<string, number[]>()
  const stats: any[] = []
  const rates: number[] = []
  let probed = 0
  let onProbed: () => void = () => {}
  const allProbed = new Promise<void>((resolve) => { onProbed = resolve })
  const workers = Array.from({ length: N }, (_, i) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { i, ports: ports[i], dbPath: join(dir, `v${i}.sqlite`), wan: args.wan }, transferList: ports[i].map((p) => p.port) })
    const done = new Promise<void>((resolve, reject) => {
      w.on('message', (m: any) => {
        if (m.type === 'verify') { rates[i] = m.rate; if (++probed === N) onProbed() } else if (m.type === 'leases') {
          for (const [o, t] of m.list as Array<[string, number]>) {
            if (!firstLease.has(o) || (firstLease.get(o) as number) > t) firstLease.set(o, t)
            const l = leaseTimes.get(o) ?? []; l.push(t); leaseTimes.set(o, l)
          }
        } else if (m.type === 'done') { stats[i] = m.stats; resolve() }
      })
      w.on('error', reject)
    })
    return { w, done }
  })
  // 1. what ed25519 verification alone allows: every thread verifies flat out, at once
  await allProbed
  const verifiesPerS = rates.reduce((s, r) => s + r, 0)
  const roughBound = verifiesPerS / (N * (1 + PROVIDERS))
  const rate = args.rate > 0 ? args.rate : Math.max(50, Math.floor(roughBound * 0.5))

  // 2. pre-sign the stream: order i arrives at i/rate; its bids 20-60 ms later; the window closes windowMs after the order
  const orders = Math.round(rate * args.seconds)
  const t0 = Date.now() + Math.round(1500 + orders * 0.3)
  const info = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: t0 - 1000, validators: validators.map((v) => v.publicKey) })
  const genesis: CommitteeFile = { info, signatures: validators.map((v) => signCommitteeFile(info, v)) }
  const msgs: Array<{ bytes: Uint8Array, at: number }> = []
  const deadlines = new Map<string, number>()
  for (let i = 0; i < orders; i++) {
    const at = Math.floor(i * 1000 / rate)
    const deadline = t0 + at + args.windowMs
    const o = signMessage<OrderBody>(tenants[i % TENANTS], MessageTag.ORDER, benchOrder(i, deadline), { createdAt: t0 + at })
    deadlines.set(o.idHex, deadline)
    msgs.push({ bytes: o.bytes, at })
    for (let p = 0; p < PROVIDERS; p++) {
      const bat = at + 20 + p * 20
      const b = signMessage<BidBody>(providers[p], MessageTag.BID, benchBid(o.id, i, p, deadline + 60_000), { createdAt: t0 + bat })
      msgs.push({ bytes: b.bytes, at: bat })
    }
  }
  msgs.sort((a, b) => a.at - b.at)
  const total = msgs.reduce((s, m) => s + m.bytes.length, 0)
  const data = new SharedArrayBuffer(total)
  const view = new Uint8Array(data)
  const index = new Float64Array(new SharedArrayBuffer(msgs.length * 3 * 8))
  let off = 0
  msgs.forEach((m, k) => { view.set(m.bytes, off); index[k * 3] = off; index[k * 3 + 1] = m.bytes.length; index[k * 3 + 2] = m.at; off += m.bytes.length })
  const feedMs = msgs[msgs.length - 1].at
  if (Date.now() > t0 - 800) console.log('warning: signing the stream took longer than planned')
  const go: Go = { committee: committeeFileToJson(genesis), schedule: { data, index }, t0, batchMs: args.batchMs, minBatchMs: args.minBatchMs, feedMs }
  for (const { w } of workers) w.postMessage(go)
  const cpu0 = process.cpuUsage()
  await Promise.all(workers.map((x) => x.done))
  const cpu = process.cpuUsage(cpu0)
  await Promise.all(workers.map((x) => x.w.terminate()))
  rmSync(dir, { recursive: true, force: true })

  // leases per second over the steady part: from 1 s in to the end of the feed plus one window
  const from = t0 + 1000
  const to = t0 + feedMs + args.windowMs
  const inWindow = [...firstLease.values()].filter((t) => t >= from && t <= to).length
  const leasesPerS = inWindow / ((to - from) / 1000)
  const lat = [...firstLease.entries()].map(([o, t]) => t - (deadlines.get(o) as number)).sort((a, b) => a - b)
  const allLat = [...leaseTimes.entries()].map(([o, ts]) => Math.max(...ts) - (deadlines.get(o) as number)).sort((a, b) => a - b)
  const pct = (xs: number[], p: number): number => xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]
  const batches = stats[0]?.batches ?? 0
  const leasesPerBatch = firstLease.size / Math.max(1, stats[0]?.leaseBatches ?? 1)
  // signatures each validator verifies per lease: the order, its bids, and its share of the batch's consensus messages
  // a proposal, and the others' prevotes, precommits, finalize signatures and tallies (protocols/committee.md §10)
  const perBatch = 1 + 4 * (N - 1)
  const perLease = 1 + PROVIDERS + perBatch / Math.max(1, leasesPerBatch)
  const bound = verifiesPerS / (N * perLease)
  console.log(`offered=${rate}/s orders=${orders} leased=${firstLease.size} batches=${batches} leases_per_batch=${leasesPerBatch.toFixed(1)} verifies_per_s_all_threads=${Math.round(verifiesPerS)} (${rates.map((r) => Math.round(r)).join('+')}) sigs_per_lease_per_node=${perLease.toFixed(2)}`)
  // where the CPU went during the run: the share ed25519 verification took of it (at the probe's
  // rate per core), against the share it would take at the bound
  const cpuS = (cpu.user + cpu.system) / 1e6
  const verifiedAll = stats.reduce((s, x) => s + (x?.verified ?? 0), 0)
  const verifyCpuS = verifiedAll / (verifiesPerS / availableParallelism())
  console.log(`run cpu_s=${cpuS.toFixed(1)} cpu_ms_per_lease=${(1000 * cpuS / Math.max(1, firstLease.size)).toFixed(2)} verified_all_nodes=${verifiedAll} verify_share_of_cpu=${(verifyCpuS / cpuS).toFixed(2)}`)
  console.log(`finality after the window, at every validator: p50=${pct(allLat, 0.5)} ms p99=${pct(allLat, 0.99)} ms`)
  for (const [i, s] of stats.entries()) console.log(`v${i}: ${JSON.stringify(s)}`)
  console.log(`committee n=${N} leases_per_s=${Math.round(leasesPerS)} p50_finality_ms=${pct(lat, 0.5)} p99_finality_ms=${pct(lat, 0.99)} verify_bound_per_s=${Math.round(bound)} bound_ratio=${(leasesPerS / bound).toFixed(2)} wan=${args.wan ?? 'none'}`)
} else {
  const base = workerData as WorkerBase
  // the verification probe runs on all threads at once, before anything else
  const goMsg = new Promise<Go>((resolve) => parentPort?.once('message', resolve))
  parentPort?.postMessage({ type: 'verify', rate: verifyRate(VERIFY_PROBE_MS) })
  const init: WorkerInit = { ...base, ...(await goMsg) }
  const committee = committeeFileFromJson(init.committee)
  const id = identityFromSeed(seed(1, init.i))
  const waitUntil = async (t: number): Promise<void> => { const d = t - Date.now(); if (d > 0) await new Promise((r) => setTimeout(r, d)) }
  const store = openStore({ path: init.dbPath })
  const byPeer = new Map(init.ports.map((p) => [`v${p.peer}`, p.port]))
  // the emulated path to each peer: one-way delay and jitter, delivered in order as TCP would
  const profile = init.wan != null ? wanProfile(init.wan) : undefined
  const due = new Map<string, number>()
  const post = (peer: string, d: Uint8Array): void => {
    const port = byPeer.get(peer)
    if (port == null) return
    if (profile == null) { port.postMessage(d); return }
    const l = profile.link(spreadRegion(init.i), spreadRegion(Number(peer.slice(1))))
    const at = Math.max(Date.now() + l.delayMs + (Math.random() * 2 - 1) * l.jitterMs, due.get(peer) ?? 0)
    due.set(peer, at)
    setTimeout(() => port.postMessage(d), at - Date.now())
  }
  const node = committeeNode({ committee, batchIntervalMs: init.batchMs, minBatchIntervalMs: init.minBatchMs, relay: false, statusIntervalMs: 1000 })({
    signer: id,
    store,
    clock: { now: Date.now, setTimer: (ms, fn) => { const t = setTimeout(fn, ms); return () => clearTimeout(t) } },
    logger: process.env.SOUK_BENCH_LOG === '1' ? (l) => console.error(`v${init.i} ${Date.now() - init.t0}: ${l}`) : undefined,
    transport: {
      broadcast: (d) => { for (const p of init.ports) post(`v${p.peer}`, d) },
      send: (peer, d) => { post(peer, d) }
    }
  })
  // the ports connect validators only: the sender is the member at the other end
  for (const p of init.ports) {
    const key = committee.info.validators[p.peer]
    p.port.on('message', (d: Uint8Array) => node.handleMessage(`v${p.peer}`, d, key))
  }
  let pending: Array<[string, number]> = []
  let batches = 0
  let leaseBatches = 0
  const expired: Record<string, number> = {}
  node.on('batch', (e) => { batches++; if (e.leases > 0) leaseBatches++; if (process.env.SOUK_BENCH_LOG === '1') console.error(`v${init.i} ${Date.now() - init.t0}: batch h=${e.height} time=${e.time - init.t0} items=${e.items} leases=${e.leases} expired=${e.expired}`) })
  node.on('expired', (e) => { expired[e.code] = (expired[e.code] ?? 0) + 1 })
  node.on('lease', (e) => { pending.push([Buffer.from(e.lease.order).toString('hex'), Date.now()]) })
  const flush = setInterval(() => { if (pending.length > 0) { parentPort?.postMessage({ type: 'leases', list: pending }); pending = [] } }, 50)
  await waitUntil(init.t0 - 600)
  node.start()
  // the gossip layer's part: every message reaches this validator at its arrival time
  const { data, index } = init.schedule
  const count = index.length / 3
  let next = 0
  const lags: number[] = []
  await waitUntil(init.t0)
  await new Promise<void>((resolve) => {
    // a few messages per turn of the event loop, as separate gossip deliveries would come
    const feed = (): void => {
      const now = Date.now() - init.t0
      let k = 0
      while (next < count && index[next * 3 + 2] <= now && k < 16) {
        if ((next & 15) === 0) lags.push(now - index[next * 3 + 2])
        const bytes = new Uint8Array(data, index[next * 3], index[next * 3 + 1]).slice()
        node.submit(bytes)
        next++
        k++
      }
      if (next >= count) resolve()
      else if (k === 16) setImmediate(feed)
      else setTimeout(feed, 2)
    }
    feed()
  })
  await waitUntil(init.t0 + init.feedMs + 2000)
  clearInterval(flush)
  if (pending.length > 0) parentPort?.postMessage({ type: 'leases', list: pending })
  const s = node.status()
  node.stop()
  store.close()
  parentPort?.postMessage({ type: 'done', stats: { feedLagP50: lags.sort((a, b) => a - b)[lags.length >> 1], feedLagMax: lags.at(-1), height: s.height, verified: s.verified, cacheHits: s.verifyCacheHits, rejected: s.rejected, shed: s.shed, pool: s.pool, batches, leaseBatches, expired } })
}
