// Runs every test file in its own process (isolation: one crash cannot hide another suite),
// two at a time, and ends with one plain line `N passed, N failed, N skipped` over all suites.
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { availableParallelism } from 'node:os'

const root = new URL('..', import.meta.url).pathname
const testDir = join(root, 'test')
const filter = process.argv.slice(2)

function collect (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) {
      if (name === 'fixtures') continue
      out.push(...collect(p))
    } else if (name.endsWith('.test.ts')) {
      out.push(p)
    }
  }
  return out
}

interface Result { file: string, passed: number, failed: number, skipped: number, output: string, code: number | null, ms: number }

function runOne (file: string): Promise<Result> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: root, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => { output += String(d) })
    child.stderr.on('data', (d) => { output += String(d) })
    const limitMs = Number(process.env.SOUK_TEST_FILE_TIMEOUT_MS ?? 600_000)
    const timer = setTimeout(() => { output += `\n[run] ${relative(root, file)} exceeded ${limitMs} ms; killed\n`; child.kill('SIGKILL') }, limitMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      // uvu prints, per process, "Total: N", "Passed: N", "Skipped: N"
      const num = (label: string): number => {
        const m = [...output.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))]
        return m.reduce((s, x) => s + Number(x[1]), 0)
      }
      const total = num('Total')
      const passed = num('Passed')
      const skipped = num('Skipped')
      let failed = Math.max(0, total - passed - skipped)
      if (code !== 0 && failed === 0) failed = 1 // crashed before or after its summary
      resolve({ file, passed, failed, skipped, output, code, ms: Date.now() - started })
    })
  })
}

const files = collect(testDir).filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
const results: Result[] = []
const queue = [...files]
const workers = Math.max(1, Math.min(Number(process.env.SOUK_TEST_JOBS ?? availableParallelism()), 4))
await Promise.all(Array.from({ length: workers }, async () => {
  for (let f = queue.shift(); f != null; f = queue.shift()) {
    const r = await runOne(f)
    results.push(r)
    const tag = r.failed > 0 ? 'FAIL' : 'ok  '
    process.stdout.write(`${tag} ${relative(root, r.file)}  ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped  (${r.ms} ms)\n`)
    if (r.failed > 0 || process.env.SOUK_TEST_VERBOSE === '1') process.stdout.write(r.output.replace(/^/gm, '    ') + '\n')
  }
}))
const sum = (k: 'passed' | 'failed' | 'skipped'): number => results.reduce((s, r) => s + r[k], 0)
// the failures again, by name, next to the totals: a long log is often read from its end
const failing = results.filter((r) => r.failed > 0)
if (failing.length > 0) {
  process.stdout.write('\nfailed:\n')
  for (const r of failing) {
    const titles = [...r.output.matchAll(/^\s*FAIL\s+"(.*)"\s*$/gm)].map((m) => m[1])
    process.stdout.write(`  ${relative(root, r.file)}${titles.length > 0 ? `: ${titles.join('; ')}` : ` (exit ${String(r.code)})`}\n`)
  }
}
process.stdout.write(`\n${results.length} suites\n${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped\n`)
process.exitCode = sum('failed') > 0 ? 1 : 0
