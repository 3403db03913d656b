// `npm run sim:mutants [-- --only id,id] [--seeds4 N] [--seeds7 N] [--no-tests] [--skip-clean] [--list]`: the mutation check.
// Each mutant in mutants.ts breaks one safety rule on purpose. It is applied, one at a time, to a
// copy of the code in a temporary directory (the working tree is never touched), and the
// simulator (a bounded number of seeds at n=4 and n=7, stopping at the first failing seed) and the
// committee tests run against that copy. A mutant is caught when one of them fails. The last line
// is `mutants total=… caught=… missed=…`; the run fails unless every mutant is caught.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
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

/** the copy a run used was removed under it (by something else): what it said proves nothing */
class CopyLost extends Error {}

function run (dir: string, cmd: string[], timeoutMs: number): { code: number | null, out: string } {
  const r = spawnSync(process.execPath, cmd, { cwd: dir, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, FORCE_COLOR: '0', SOUK_MUTANT: '1' }, maxBuffer: 64 * 1024 * 1024 })
  // a run that could not start (its directory is gone) is not a pass, whatever its status says
  if (r.error != null && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw new CopyLost(`${cmd.join(' ')}: ${r.error.message}`)
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

let args: Args
try {
  args = parse(process.argv.slice(2))
} catch (err: any) {
  console.error(`sim:mutants: ${String(err?.message ?? err)}`)
  process.exit(2)
}
const chosen = MUTANTS.filter((m) => args.only == null || args.only.has(m.id))
if (args.list) {
  for (const m of chosen) console.log(`${m.id.padEnd(28)} ${m.rule.padEnd(22)} ${m.description}`)
  process.exit(0)
}

/**
 * The copy of the code the mutants are applied to. Something outside this process may remove it
 * mid-run (a sweep of the temporary directory): every run is then checked to have had its copy
 * from start to end, and a run that lost it counts for nothing and is made again on a new copy.
 */
class Copy {
  dir = ''
  /** every file a run needs; the copy is whole while they are all there */
  private readonly marks = ['package.json', 'tsconfig.json', 'node_modules', 'src/committee/consensus.ts', 'test/sim/run.ts', 'test/committee/harness.ts']

  constructor () { this.make() }

  make (): void {
    this.dir = mkdtempSync(join(tmpdir(), 'souk-mutants-'))
    for (const d of ['src', 'test', 'bin', 'examples']) cpSync(join(root, d), join(this.dir, d), { recursive: true })
    for (const f of ['package.json', 'tsconfig.json']) cpSync(join(root, f), join(this.dir, f))
    symlinkSync(join(root, 'node_modules'), join(this.dir, 'node_modules'))
  }

  whole (...files: string[]): boolean { return [...this.marks, ...files].every((f) => existsSync(join(this.dir, f))) }

  /** a new copy in place of one that lost files */
  renew (why: string): void {
    console.log(`the copy ${this.dir} lost files (${why}); copying the code again`)
    this.remove()
    this.make()
  }

  remove (): void { if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true }) }
}

/** what a run gives: a catch, nothing, or (the copy was lost during it) no answer */
function guarded<T> (copy: Copy, files: string[], fn: () => T): { value: T } | { lost: string } {
  try {
    const value = fn()
    return copy.whole(...files) ? { value } : { lost: 'files were missing after the run' }
  } catch (err) {
    if (err instanceof CopyLost) return { lost: err.message }
    throw err
  }
}

/** tries with a new copy when a run lost its copy; gives up after this many */
const MAX_COPIES = 3

const copy = new Copy()
console.log(`copy ${copy.dir}`)
// an interrupted run leaves no copy behind
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { copy.remove(); process.exit(130) })
let caught = 0
let missed = 0
let broken = 0
const started = Date.now()
try {
  // the catchers must pass on the unmutated copy, or a "catch" would mean nothing
  if (args.tests && args.clean) {
    for (let i = 0; ; i++) {
      const r = guarded(copy, [], () => tryTests(copy.dir))
      if ('value' in r) {
        if (r.value != null) throw new Error(`the tests fail without any mutant (${r.value.by}: ${r.value.detail}); fix that first`)
        break
      }
      if (i + 1 >= MAX_COPIES) throw new Error(`the copy of the code was removed ${MAX_COPIES} times during the clean run; is something sweeping ${tmpdir()}?`)
      copy.renew(r.lost)
    }
  }
  for (const m of chosen) {
    const t0 = Date.now()
    let outcome: { value: Catch | undefined } | { lost: string } = { lost: 'not run' }
    for (let i = 0; i < MAX_COPIES; i++) {
      if (!copy.whole(m.file)) copy.renew('before a mutant')
      // the copy is a snapshot: edits to the working tree during a long run change nothing here
      const pristine = readFileSync(join(copy.dir, m.file), 'utf8')
      const count = occurrences(pristine, m.search)
      if (count !== 1) { outcome = { lost: `its search text occurs ${count} times in ${m.file}` }; break }
      writeFileSync(join(copy.dir, m.file), pristine.replace(m.search, m.replace))
      outcome = guarded(copy, [m.file], () => attempt(copy.dir, m, args))
      // restore only into a copy that still holds the file (a lost copy is made again anyway)
      if (copy.whole(m.file)) writeFileSync(join(copy.dir, m.file), pristine)
      if ('value' in outcome) break
      copy.renew(outcome.lost)
    }
    const secs = Math.round((Date.now() - t0) / 1000)
    if (!('value' in outcome)) {
      broken++
      console.log(`mutant ${m.id}: not checked (${outcome.lost})`)
    } else if (outcome.value != null) {
      caught++
      console.log(`mutant ${m.id}: caught by ${outcome.value.by} in ${secs} s — ${outcome.value.detail}`)
    } else {
      missed++
      console.log(`mutant ${m.id}: MISSED (${m.description}) after ${secs} s`)
    }
  }
} catch (err: any) {
  // a harness error is reported, not thrown: no stack trace, no copy left behind
  console.error(`sim:mutants: ${String(err?.message ?? err)}`)
  copy.remove()
  process.exit(2)
} finally {
  copy.remove()
}
console.log(`seconds=${Math.round((Date.now() - started) / 1000)} seeds4=${args.seeds4} seeds7=${args.seeds7}`)
console.log(`mutants total=${chosen.length} caught=${caught} missed=${missed + broken}`)
process.exitCode = missed + broken > 0 ? 1 : 0
