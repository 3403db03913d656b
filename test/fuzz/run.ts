// npm run fuzz: mutates valid samples of every decoder a peer or a local user can reach (see
// targets.ts) and checks that each input gives a value or a typed error, within its time bound,
// without crashing. Seeded and reproducible: input number i of seed s is always the same input.
//
//   node test/fuzz/run.ts [--seed 1] [--inputs 1000000] [--workers 2] [--only wire/] [--out findings.jsonl]
//   node test/fuzz/run.ts --seed S --index I      (replays one input and prints what happened)
//
// Inputs run on worker threads in chunks; a watchdog ends a worker whose input makes no progress
// for --hang-ms (a hang, the input named), and a worker that dies is a crash; either way the run
// goes on from the next input. Last line: fuzz inputs=… crashes=… hangs=… untyped_errors=…
import { Worker } from 'node:worker_threads'
import { appendFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import type { Finding } from './engine.ts'

function arg (name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return def
  const v = Number(process.argv[i + 1])
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} needs a whole number`)
  return v
}
function sarg (name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? undefined : process.argv[i + 1]
}

const SEED = arg('seed', 1)
const INPUTS = arg('inputs', 1_000_000)
const WORKERS = Math.max(1, arg('workers', Math.min(2, availableParallelism())))
const CHUNK = Math.max(1, arg('chunk', 2_000))
const HANG_MS = arg('hang-ms', 20_000)
const ONLY = sarg('only')
const OUT = sarg('out')

if (process.argv.includes('--index')) {
  // replay one input in this thread, with the whole error
  const { targets } = await import('./targets.ts')
  const { pick, runInput, show } = await import('./engine.ts')
  const list = targets().filter((t) => ONLY == null || t.name.startsWith(ONLY))
  const index = arg('index', 0)
  const { target, input } = pick(list, SEED, index)
  const r = runInput(target, input)
  console.log(JSON.stringify({ target: target.name, seed: SEED, index, outcome: r.outcome, ms: Math.round(r.ms), message: r.message, input: show(input) }, null, 1))
  if (r.outcome !== 'value' && r.outcome !== 'typed') {
    try { target.run(input) } catch (err) { console.log(err) }
  }
  process.exit(0)
}

const started = Date.now()
const totals: Record<string, Record<string, number>> = {}
const findings: Finding[] = []
let next = 0
let finished = 0
const progress = new SharedArrayBuffer(4 * WORKERS)
const view = new Int32Array(progress)

function record (f: Finding): void {
  findings.push(f)
  console.log(`finding kind=${f.kind} target=${f.target} seed=${f.seed} index=${f.index} :: ${f.message.split('\n')[0].slice(0, 300)}`)
  if (OUT != null) appendFileSync(OUT, JSON.stringify(f) + '\n')
}

function add (counts: Record<string, Record<string, number>>): void {
  for (const [t, c] of Object.entries(counts)) {
    const into = totals[t] ??= {}
    for (const [k, n] of Object.entries(c)) { into[k] = (into[k] ?? 0) + n; finished += n }
  }
}

async function runSlot (slot: number): Promise<void> {
  for (;;) {
    if (next >= INPUTS) return
    const range = { from: next, to: Math.min(INPUTS, next + CHUNK) }
    next = range.to
    await runChunk(slot, range.from, range.to)
  }
}

type Attempt = { ok: true } | { ok: false, at: number, kind: 'hang' | 'crash', message: string }

/** runs [from, to) on this slot's worker; a hang or a crash is recorded and the rest run on a fresh worker */
async function runChunk (slot: number, from: number, to: number): Promise<void> {
  if (from >= to) return
  const r = await attempt(slot, from, to)
  if (r.ok) return
  const at = Math.min(Math.max(r.at, from), to - 1)
  const { targets } = await import('./targets.ts')
  const { pick, show } = await import('./engine.ts')
  const { target, input } = pick(targets().filter((t) => ONLY == null || t.name.startsWith(ONLY)), SEED, at)
  add({ [target.name]: { [r.kind]: 1 } })
  record({ kind: r.kind, target: target.name, seed: SEED, index: at, input: show(input).slice(0, 200_000), message: r.message })
  // the worker's counts for the rest of the chunk died with it: those inputs run again
  await runChunk(slot, from, at)
  await runChunk(slot, at + 1, to)
}

async function attempt (slot: number, from: number, to: number): Promise<Attempt> {
  const w = await worker(slot)
  Atomics.store(view, slot, -1)
  const result = await new Promise<Attempt>((resolve) => {
    let last = -2
    let since = Date.now()
    const done = (a: Attempt): void => {
      clearInterval(watchdog)
      w.off('message', onMessage)
      w.off('exit', onExit)
      resolve(a)
    }
    const watchdog = setInterval(() => {
      const at = Atomics.load(view, slot)
      if (at !== last) { last = at; since = Date.now(); return }
      if (at >= 0 && Date.now() - since > HANG_MS) { done({ ok: false, at, kind: 'hang', message: `no answer within ${HANG_MS} ms` }); void w.terminate() }
    }, 250)
    const onMessage = (m: any): void => {
      if (m.type === 'done') {
        add(m.counts)
        for (const f of m.findings as Finding[]) record(f)
        done({ ok: true })
      } else if (m.type === 'async-crash') {
        done({ ok: false, at: m.index, kind: 'crash', message: m.message })
        void w.terminate()
      }
    }
    const onExit = (code: number): void => { done({ ok: false, at: Atomics.load(view, slot), kind: 'crash', message: `the worker exited with code ${code}` }) }
    w.on('message', onMessage)
    w.once('exit', onExit)
    w.postMessage({ type: 'chunk', from, to })
  })
  if (!result.ok) idle[slot] = undefined
  return result
}

const idle: Array<Worker | undefined> = []
async function worker (slot: number): Promise<Worker> {
  const w = idle[slot]
  if (w != null) return w
  const fresh = new Worker(new URL('./worker.ts', import.meta.url), {
    workerData: { seed: SEED, slot, progress, only: ONLY },
    // a decoder that allocates without bound hits this and dies: a crash, not a machine out of memory
    resourceLimits: { maxOldGenerationSizeMb: 768, stackSizeMb: 4 }
  })
  await new Promise<void>((resolve, reject) => {
    fresh.once('message', (m) => { if (m.type === 'ready') resolve(); else reject(new Error('worker did not start')) })
    fresh.once('error', reject)
  })
  idle[slot] = fresh
  return fresh
}

const ticker = setInterval(() => {
  const s = (Date.now() - started) / 1000
  console.log(`… ${finished} inputs in ${s.toFixed(0)} s (${Math.round(finished / s)}/s), ${findings.length} findings`)
}, 15_000)
ticker.unref()

await Promise.all(Array.from({ length: WORKERS }, async (_, slot) => { await runSlot(slot) }))
clearInterval(ticker)
for (const w of idle) await w?.terminate()

const sum = (k: string): number => Object.values(totals).reduce((s, c) => s + (c[k] ?? 0), 0)
const seconds = (Date.now() - started) / 1000
console.log('\ntarget                       inputs   value   typed  untyped  hangs  crashes')
for (const [t, c] of Object.entries(totals).sort(([a], [b]) => a.localeCompare(b))) {
  const n = Object.values(c).reduce((a, b) => a + b, 0)
  console.log(`${t.padEnd(26)} ${String(n).padStart(8)} ${String(c.value ?? 0).padStart(7)} ${String(c.typed ?? 0).padStart(7)} ${String(c.untyped ?? 0).padStart(8)} ${String(c.hang ?? 0).padStart(6)} ${String(c.crash ?? 0).padStart(8)}`)
}
const inputs = Object.values(totals).reduce((s, c) => s + Object.values(c).reduce((a, b) => a + b, 0), 0)
const generated = inputs - sum('generator')
if (sum('generator') > 0) console.log(`the fuzzer failed to make ${sum('generator')} inputs (not counted)`)
console.log(`\nseed ${SEED}, ${WORKERS} workers, ${seconds.toFixed(1)} s, ${Math.round(inputs / seconds)} inputs/s`)
console.log(`fuzz inputs=${generated} crashes=${sum('crash')} hangs=${sum('hang')} untyped_errors=${sum('untyped')}`)
process.exitCode = sum('crash') + sum('hang') + sum('untyped') > 0 ? 1 : 0
