// `npm run sim:mutants [-- --only id,id] [--seeds4 N] [--seeds7 N] [--no-tests] [--skip-clean] [--list]`: the mutation check.
// Each mutant in mutants.ts breaks one safety rule on purpose. It is applied, one at a time, to a
// copy of the code in a temporary directory (the working tree is never touched), and the
// simulator (a bounded number of seeds at n=4 and n=7, stopping at the first failing seed) and the
// committee tests run against that copy. A mutant is caught when one of them fails. The last line
// is `mutants total=… caught=… missed=…`; the run fails unless every mutant is caught.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MUTANTS } from './mutants.ts'
import type { Mutant } from './mutants.ts'

interface Args { only?: Set<string>, seeds4: number, seeds7: number, list: boolean, jobs: number, tests: boolean, clean: boolean }

function parse (argv: string[]): Args {
  const a: Args = { seeds4: 300, seeds7: 60, list: false, jobs: 2, tests: true, clean: true }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const num = (): number => { const x = Number(argv[++i]); if (!Number.isSafeInteger(x) || x < 0) throw new Error(`${k} needs a whole number`); return x }
    if (k === '--only') a.only = new Set(String(argv[++i]).split(','))
    else if (k === '--seeds4') a.seeds4 = num()
    else if (k === '--seeds7') a.seeds7 = num()
    else if (k === '--jobs') a.jobs = num()
    else if (k === '--list') a.list = true
    // exploring: the simulator alone (a mutant it misses then counts as missed)
    else if (k === '--no-tests') a.tests = false
    // a run split over several processes checks the unmutated copy in one of them only
    else if (k === '--skip-clean') a.clean = false
    else throw new Error(`unknown argument ${k}`)
  }
  return a
}

const root = new URL('../..', import.meta.url).pathname

/** how many times `needle` occurs in `hay` */
function occurrences (hay: string, needle: string): number {
  let n = 0
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + needle.length)) n++
  return n
}

interface Catch { by: string, detail: string }

/** the committee tests, plus the simulator's own short suite */
function testFiles (dir: string): string[] {
  // the slow ones (real libp2p nodes, the CLI's processes) last: most mutants fail a fast one first
  const slow = ['cli.test.ts', 'transport.test.ts']
  const committee = readdirSync(join(dir, 'test/committee')).filter((f) => f.endsWith('.test.ts'))
    .sort((a, b) => Number(slow.includes(a)) - Number(slow.includes(b)) || (a < b ? -1 : 1))
    .map((f) => `test/committee/${f}`)
  const fast = committee.filter((f) => !slow.some((x) => f.endsWith(x)))
  return [...fast, 'test/sim/sim.test.ts', ...committee.filter((f) => !fast.includes(f))]
}

function run (dir: string, cmd: string[], timeoutMs: number): { code: number | null, out: string } {
  const r = spawnSync(process.execPath, cmd, { cwd: dir, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, FORCE_COLOR: '0', SOUK_MUTANT: '1' }, maxBuffer: 64 * 1024 * 1024 })
  // a run that was killed (its time was up) caught nothing: it proves neither way
  if (r.status == null) return { code: 0, out: `killed after ${timeoutMs} ms (${String(r.signal ?? r.error?.message)})` }
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` }
}

function lastLines (out: string, match: RegExp, n = 1): string {
  return out.split('\n').filter((l) => match.test(l)).slice(0, n).join(' | ').slice(0, 300)
}

function trySim (dir: string, n: number, seeds: number, jobs: number): Catch | undefined {
  if (seeds === 0) return undefined
  const r = run(dir, ['test/sim/run.ts', '--seeds', String(seeds), '--n', String(n), '--bail', '--jobs', String(jobs)], 20 * 60_000)
  if (r.code === 0) return undefined
  return { by: `sim n=${n}`, detail: lastLines(r.out, /^(SAFETY|LIVENESS)|crashed/) || lastLines(r.out, /./) }
}

function tryTests (dir: string): Catch | undefined {
  for (const f of testFiles(dir)) {
    const r = run(dir, [f], 10 * 60_000)
    if (r.code !== 0) return { by: f, detail: lastLines(r.out, /(✘|FAIL|Error|expected|assert)/i) || `exit ${String(r.code)}` }
  }
  return undefined
}

function attempt (dir: string, m: Mutant, a: Args): Catch | undefined {
  // the tests first (they include the simulator's regression seeds), then fresh seeds
  const order = m.first === 'sim4' ? ['sim4', 'sim7', 'tests'] : m.first === 'sim7' ? ['sim7', 'sim4', 'tests'] : ['tests', 'sim4', 'sim7']
  for (const c of order) {
    const r = c === 'tests' ? (a.tests ? tryTests(dir) : undefined) : c === 'sim4' ? trySim(dir, 4, a.seeds4, a.jobs) : trySim(dir, 7, a.seeds7, a.jobs)
    if (r != null) return r
  }
  return undefined
}

const args = parse(process.argv.slice(2))
const chosen = MUTANTS.filter((m) => args.only == null || args.only.has(m.id))
if (args.list) {
  for (const m of chosen) console.log(`${m.id.padEnd(28)} ${m.rule.padEnd(22)} ${m.description}`)
  process.exit(0)
}

const dir = mkdtempSync(join(tmpdir(), 'souk-mutants-'))
// an interrupted run leaves no copy behind
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { rmSync(dir, { recursive: true, force: true }); process.exit(130) })
let caught = 0
let missed = 0
let broken = 0
const started = Date.now()
try {
  for (const d of ['src', 'test', 'bin', 'examples']) cpSync(join(root, d), join(dir, d), { recursive: true })
  for (const f of ['package.json', 'tsconfig.json']) cpSync(join(root, f), join(dir, f))
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  // the catchers must pass on the unmutated copy, or a "catch" would mean nothing
  const clean = args.tests && args.clean ? tryTests(dir) : undefined
  if (clean != null) throw new Error(`the tests fail without any mutant (${clean.by}: ${clean.detail}); fix that first`)
  for (const m of chosen) {
    const t0 = Date.now()
    // the copy is a snapshot: edits to the working tree during a long run change nothing here
    const pristine = readFileSync(join(dir, m.file), 'utf8')
    const count = occurrences(pristine, m.search)
    if (count !== 1) {
      broken++
      console.log(`mutant ${m.id}: does not apply (its search text occurs ${count} times in ${m.file})`)
      continue
    }
    writeFileSync(join(dir, m.file), pristine.replace(m.search, m.replace))
    try {
      const c = attempt(dir, m, args)
      const secs = Math.round((Date.now() - t0) / 1000)
      if (c != null) {
        caught++
        console.log(`mutant ${m.id}: caught by ${c.by} in ${secs} s — ${c.detail}`)
      } else {
        missed++
        console.log(`mutant ${m.id}: MISSED (${m.description}) after ${secs} s`)
      }
    } finally {
      writeFileSync(join(dir, m.file), pristine)
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
console.log(`seconds=${Math.round((Date.now() - started) / 1000)} seeds4=${args.seeds4} seeds7=${args.seeds7}`)
console.log(`mutants total=${chosen.length} caught=${caught} missed=${missed + broken}`)
process.exitCode = missed + broken > 0 ? 1 : 0
