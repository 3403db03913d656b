// A fuzz worker: builds the targets, then runs the chunks of input numbers it is given. Before
// each input it writes the input's number where the main thread can see it, so a decoder that
// never returns is found (and the input named) by the watchdog there.
import { parentPort, workerData } from 'node:worker_threads'
import { targets } from './targets.ts'
import { pick, runInput, show } from './engine.ts'
import type { Finding } from './engine.ts'

interface Data { seed: number, slot: number, progress: SharedArrayBuffer, only?: string }
const data = workerData as Data
const progress = new Int32Array(data.progress)
const all = targets()
let generatorErrors = 0
const list = data.only != null ? all.filter((t) => t.name.startsWith(data.only!)) : all
if (list.length === 0) throw new Error(`no target starts with ${String(data.only)}`)

// an error escaping a decoder asynchronously (a rejected promise nobody handles, a throw in a
// timer) surfaces only after the synchronous work: it is noted here, and the chunk is then run
// again one input at a time to find the input that caused it
const asyncErrors: string[] = []
const note = (err: unknown): void => { asyncErrors.push(String((err as any)?.stack ?? err)) }
process.on('uncaughtException', note)
process.on('unhandledRejection', note)
const turn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

parentPort!.on('message', (m: { type: 'chunk', from: number, to: number } | { type: 'stop' }) => {
  if (m.type === 'stop') { process.exit(0) }
  void runChunk(m.from, m.to)
})

async function runChunk (from: number, to: number): Promise<void> {
  const m = { from, to }
  const counts: Record<string, Record<string, number>> = {}
  const findings: Finding[] = []
  for (let i = m.from; i < m.to; i++) {
    Atomics.store(progress, data.slot, i)
    const { target, input, generatorError } = pick(list, data.seed, i)
    if (generatorError != null) {
      const c = counts[target.name] ??= {}
      c.generator = (c.generator ?? 0) + 1
      if (generatorErrors++ < 3) console.error(`fuzzer could not make input ${i} of ${target.name}: ${generatorError}`)
      continue
    }
    const r = runInput(target, input)
    const c = counts[target.name] ??= {}
    c[r.outcome] = (c[r.outcome] ?? 0) + 1
    if (r.outcome === 'untyped' || r.outcome === 'crash' || r.outcome === 'hang') {
      if (findings.length < 50) findings.push({ kind: r.outcome, target: target.name, seed: data.seed, index: i, input: show(input).slice(0, 200_000), message: r.message ?? '' })
    }
  }
  Atomics.store(progress, data.slot, -1)
  await turn()
  if (asyncErrors.length > 0) {
    asyncErrors.length = 0
    for (let i = m.from; i < m.to; i++) {
      Atomics.store(progress, data.slot, i)
      const { target, input, generatorError } = pick(list, data.seed, i)
      if (generatorError != null) continue
      const r = runInput(target, input)
      await turn()
      if (asyncErrors.length > 0) {
        // counted as its synchronous outcome in the first pass: it is a crash instead
        const c = counts[target.name]
        c[r.outcome] = Math.max(0, (c[r.outcome] ?? 1) - 1)
        c.crash = (c.crash ?? 0) + 1
        findings.push({ kind: 'crash', target: target.name, seed: data.seed, index: i, input: show(input).slice(0, 200_000), message: `an error escaped asynchronously: ${asyncErrors.join('; ').slice(0, 2000)}` })
        asyncErrors.length = 0
      }
    }
    Atomics.store(progress, data.slot, -1)
  }
  parentPort!.postMessage({ type: 'done', from: m.from, to: m.to, counts, findings })
}
parentPort!.postMessage({ type: 'ready', targets: list.map((t) => t.name) })
