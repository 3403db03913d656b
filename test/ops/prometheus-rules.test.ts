// deploy/prometheus/souk-rules.yml: valid YAML in Prometheus's rule-file shape, every rule with
// expr, for, labels and annotations, and every metric it reads one the code defines.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

const root = new URL('../..', import.meta.url).pathname
const rules = parse(readFileSync(join(root, 'deploy/prometheus/souk-rules.yml'), 'utf8'))

function sources (dir: string): string[] {
  return readdirSync(dir).flatMap((n) => { const p = join(dir, n); return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [] })
}
/** every metric name the code registers or names as a constant */
const defined = new Set(sources(join(root, 'src')).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/'(souk_[a-z_]+)'/g)].map((m) => m[1])))

const PROMQL_WORDS = new Set(['increase', 'rate', 'changes', 'or', 'and', 'unless', 'by', 'on', 'sum', 'max', 'min', 'avg', 'count'])

test('the rules file has groups of rules, each with expr, for, labels and annotations', () => {
  assert.ok(Array.isArray(rules.groups) && rules.groups.length > 0)
  const names = new Set<string>()
  for (const g of rules.groups) {
    assert.type(g.name, 'string')
    for (const r of g.rules) {
      assert.match(r.alert, /^Souk[A-Za-z]+$/)
      assert.not.ok(names.has(r.alert), `${r.alert} twice`)
      names.add(r.alert)
      assert.type(r.expr, 'string', r.alert)
      assert.match(r.for, /^\d+[smh]$/, r.alert)
      assert.ok(['critical', 'warning'].includes(r.labels?.severity), r.alert)
      assert.type(r.annotations?.summary, 'string', r.alert)
      assert.type(r.annotations?.description, 'string', r.alert)
      // brackets and parentheses balance
      for (const [o, c] of [['(', ')'], ['[', ']'], ['{', '}']]) assert.is(r.expr.split(o).length, r.expr.split(c).length, `${r.alert}: ${o}${c}`)
    }
  }
  for (const needed of ['SoukRuntimeDown', 'SoukNoPeers', 'SoukCommitteeStalled', 'SoukLeaseFailures']) assert.ok(names.has(needed), needed)
})

test('every metric an expression reads is one souk defines', () => {
  for (const g of rules.groups) {
    for (const r of g.rules) {
      const metrics = [...r.expr.replace(/\{[^}]*\}/g, '').replace(/"[^"]*"/g, '').matchAll(/\b([a-z_][a-z0-9_]*)\b/g)].map((m: RegExpMatchArray) => m[1]).filter((w: string) => !PROMQL_WORDS.has(w) && !/^\d/.test(w) && !/^\d+[smh]$/.test(w))
      assert.ok(metrics.length > 0, r.alert)
      for (const m of metrics) assert.ok(defined.has(m), `${r.alert}: ${m} is not a metric souk defines`)
    }
  }
})

test('the check labels the rules use are checks souk runs', async () => {
  const { HEALTH_CHECKS } = await import('../../src/node/health.ts')
  for (const g of rules.groups) {
    for (const r of g.rules) {
      for (const m of r.expr.matchAll(/check="([a-z]+)"/g)) assert.ok((HEALTH_CHECKS as readonly string[]).includes(m[1]), `${r.alert}: check ${m[1]}`)
    }
  }
})

test.run()
