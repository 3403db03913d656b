// Every metric souk defines reaches a running daemon's /metrics: a small devnet (four validators,
// one Docker provider, one tenant, each its own `souk node start` process on loopback) is
// scraped, and each name the code registers, or names in a metric-name table, must appear on
// some role's endpoint. A metric defined in code but never registered on the node (built without
// the registry, or a name nothing counts) is a dashboard that stays empty.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'

const root = new URL('../..', import.meta.url).pathname

function sources (dir: string): string[] {
  return readdirSync(dir).flatMap((n) => { const p = join(dir, n); return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [] })
}

/**
 * The metric names the code defines, read from the code: the name tables (`XMetricName = { KEY:
 * 'souk_…' } as const`) and each `.counter(`, `.gauge(` or `.histogram(` call's name, a string or
 * a table entry.
 */
function definedMetrics (): { names: Set<string>, where: Map<string, string> } {
  const files = sources(join(root, 'src')).map((f) => ({ f: f.slice(root.length), text: readFileSync(f, 'utf8') }))
  const table = new Map<string, string>()
  const where = new Map<string, string>()
  for (const { f, text } of files) {
    for (const m of text.matchAll(/export const (\w*MetricName) = \{([\s\S]*?)\} as const/g)) {
      for (const e of m[2].matchAll(/(\w+): '(souk_[a-z0-9_]+)'/g)) {
        table.set(`${m[1]}.${e[1]}`, e[2])
        where.set(e[2], `${f} (${m[1]}.${e[1]})`)
      }
    }
  }
  for (const { f, text } of files) {
    // imports may rename a table (`MarketMetricName as MetricName`)
    const alias = new Map<string, string>()
    for (const m of text.matchAll(/(\w*MetricName) as (\w+)/g)) alias.set(m[2], m[1])
    for (const m of text.matchAll(/\.(counter|gauge|histogram)\(\s*(?:'(souk_[a-z0-9_]+)'|(\w+)\.(\w+))/g)) {
      const name = m[2] ?? table.get(`${alias.get(m[3]) ?? m[3]}.${m[4]}`)
      assert.ok(name != null, `${f}: the metric name ${m[3]}.${m[4]} is in no metric-name table`)
      if (!where.has(name!)) where.set(name!, f)
    }
  }
  return { names: new Set(where.keys()), where }
}

test('the metric definitions are read from the code', () => {
  const { names } = definedMetrics()
  // a reader that finds nothing would pass the scrape below vacuously
  for (const n of ['souk_gossip_validation_total', 'souk_market_decisions_total', 'souk_committee_height', 'souk_health_check', 'souk_runtime_errors_total']) assert.ok(names.has(n), n)
  assert.ok(names.size >= 20, `only ${names.size} metric names found`)
})

const docker = dockerFromEnv()
if (docker == null) {
  test.run()
  skipNotice('test/ops/metrics-coverage.test.ts (the scrape of a running devnet)')
} else {
  const { devnetUp, devnetDown } = await import('../../src/node/devnet.ts')
  const dir = mkdtempSync(join(tmpdir(), 'souk-metrics-'))

  test.after(async () => {
    await devnetDown(dir).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })

  test('every metric souk defines is on the /metrics of a running validator, provider or tenant', async () => {
    // four validators: every other node bootstraps from two of them, so the devnet is connected
    // without waiting on peer discovery, which a loaded machine can hold up past devnetUp's patience
    const state = await devnetUp(dir, { validators: 4, providers: 1 })
    const seen = new Map<string, Set<string>>()
    for (const n of state.nodes) {
      const { metricsPort } = JSON.parse(readFileSync(join(n.home, 'node.json'), 'utf8')) as { metricsPort: number }
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
      assert.is(res.status, 200, n.name)
      const text = await res.text()
      for (const m of text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram)$/gm)) {
        if (!seen.has(m[1])) seen.set(m[1], new Set())
        seen.get(m[1])!.add(n.role)
      }
    }
    const { names, where } = definedMetrics()
    const missing = [...names].filter((n) => !seen.has(n)).map((n) => `${n} (defined in ${where.get(n) ?? '?'})`)
    assert.equal(missing, [], `defined but on no daemon's /metrics:\n  ${missing.join('\n  ')}`)
    // and each role shows its own
    assert.ok(seen.get('souk_committee_height')?.has('validator'), 'the validator exports the committee height')
    assert.ok(seen.get('souk_market_decisions_total')?.has('provider'), 'the provider exports the bid engine\'s decisions')
  })

  test.run()
}
