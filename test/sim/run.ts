// `node test/sim/run.ts --seeds 10000 [--n 7] [--from 0] [--jobs 2] [--bail]` runs that many seeds
// across worker threads (`--bail` stops at the first failing seed); `--seed S` replays one seed
// with a log. The last line sums everything up.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { simulate } from './world.ts'
import type { SimResult } from './world.ts'

interface Args { seeds: number, from: number, n: number, jobs: number, seed?: number, real: boolean, verbose: boolean, bail: boolean }

function parse (argv: string[]): Args {
  const a: Args = { seeds: 100, from: 0, n: 4, jobs: Math.max(1, availableParallelism()), real: false, verbose: false, bail: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = (): number => { const x = Number(argv[++i]); if (!Number.isSafeInteger(x) || x < 0) throw new Error(`${k} needs a whole number`); return x }
    if (k === '--seeds') a.seeds = v()
    else if (k === '--from') a.from = v()
    else if (k === '--n') a.n = v()
    else if (k === '--jobs') a.jobs = Math.max(1, v())
    else if (k === '--seed') a.seed = v()
    else if (k === '--real') a.real = true
    else if (k === '--verbose') a.verbose = true
    else if (k === '--bail') a.bail = true
    else throw new Error(`unknown argument ${k}`)
  }
  if (a.n < 1 || a.n > 31) throw new Error('--n must be 1-31')
  return a
}

const replay = (seed: number, n: number): string => `node test/sim/run.ts --seed ${seed} --n ${n}`

function report (r: SimResult): void {
  for (const s of r.safety) console.log(`SAFETY seed=${r.seed} n=${r.n}: ${s}\n  replay: ${replay(r.seed, r.n)}`)
  for (const s of r.liveness) console.log(`LIVENESS seed=${r.seed} n=${r.n}: ${s}\n  replay: ${replay(r.seed, r.n)}`)
}

if (isMainThread) {
  const args = parse(process.argv.slice(2))
  if (args.seed != null) {
    const r = simulate({ seed: args.seed, n: args.n, realCrypto: args.real, log: args.verbose ? (l) => console.log(l) : undefined })
    report(r)
    console.log(`seed ${r.seed}: ${r.scenario} height=${r.height} leases=${r.leases} expired=${r.expired}`)
    console.log(`sim seeds=1 n=${args.n} safety_violations=${r.safety.length > 0 ? 1 : 0} liveness_failures=${r.liveness.length > 0 ? 1 : 0} steps=${r.steps}`)
    process.exitCode = r.safety.length + r.liveness.length > 0 ? 1 : 0
  } else {
    const started = Date.now()
    const jobs = Math.min(args.jobs, args.seeds)
    let safety = 0; let live = 0; let steps = 0; let leases = 0; let done = 0
    const workers: Worker[] = []
    await Promise.all(Array.from({ length: jobs }, async (_, j) => {
      const seeds: number[] = []
      for (let s = args.from + j; s < args.from + args.seeds; s += jobs) seeds.push(s)
      await new Promise<void>((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: { seeds, n: args.n, real: args.real } })
        workers.push(w)
        w.on('message', (r: SimResult) => {
          done++
          steps += r.steps
          leases += r.leases
          if (r.safety.length > 0) safety++
          if (r.liveness.length > 0) live++
          report(r)
          if (args.bail && safety + live > 0) for (const x of workers) void x.terminate()
          if (done % 1000 === 0) console.log(`… ${done}/${args.seeds} seeds, ${Math.round((Date.now() - started) / 1000)} s`)
        })
        w.on('error', reject)
        w.on('exit', () => resolve())
      })
    }))
    console.log(`leases=${leases} seconds=${Math.round((Date.now() - started) / 1000)}`)
    console.log(`sim seeds=${args.bail && safety + live > 0 ? done : args.seeds} n=${args.n} safety_violations=${safety} liveness_failures=${live} steps=${steps}`)
    process.exitCode = safety + live > 0 ? 1 : 0
  }
} else {
  const { seeds, n, real } = workerData as { seeds: number[], n: number, real: boolean }
  for (const seed of seeds) {
    let r: SimResult
    try {
      r = simulate({ seed, n, realCrypto: real })
    } catch (err: any) {
      r = { seed, n, steps: 0, safety: [`crashed: ${String(err?.stack ?? err).split('\n').slice(0, 4).join(' | ')}`], liveness: [], leases: 0, expired: 0, height: 0, scenario: '' }
    }
    parentPort?.postMessage(r)
  }
}
