import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { controlServer, controlClient, createMetricsRegistry, metricsServer, ApiError, ndjsonLines } from '../../src/api/index.ts'
import { MAX_METRICS_CONNECTIONS } from '../../src/api/constants.ts'
import { connect } from 'node:net'
import type { Socket } from 'node:net'

const dir = mkdtempSync(join(tmpdir(), 'souk-api-'))
const socketPath = join(dir, 'control.sock')
test.after(() => rmSync(dir, { recursive: true, force: true }))

test('a client with no daemon gets a message saying how to start one', async () => {
  const c = controlClient({ socketPath, home: dir })
  try { await c.get('/v1/status'); assert.unreachable() } catch (err: any) {
    assert.instance(err, ApiError)
    assert.is(err.code, 'ERR_DAEMON_NOT_RUNNING')
    assert.match(err.message, /souk --home .* node start/)
  }
})

test('JSON routes, params, typed errors and NDJSON streams over an owner-only socket', async () => {
  const s = controlServer({ socketPath })
  s.route('GET', '/v1/leases/:id', ({ params }) => {
    if (params.id === 'missing') throw Object.assign(new Error('no lease missing'), { code: 'ERR_LEASE_NOT_FOUND' })
    return { id: params.id, state: 'active' }
  })
  s.route('POST', '/v1/echo', ({ body }) => body)
  s.route('GET', '/v1/count', async function * () { for (let i = 0; i < 3; i++) yield { i } })
  await s.start()
  try {
    assert.is(statSync(socketPath).mode & 0o777, 0o600)
    const c = controlClient({ socketPath })
    assert.equal(await c.get('/v1/leases/abc'), { id: 'abc', state: 'active' })
    assert.equal(await c.post('/v1/echo', { a: [1, 2] }), { a: [1, 2] })
    try { await c.get('/v1/leases/missing'); assert.unreachable() } catch (err: any) {
      assert.is(err.code, 'ERR_LEASE_NOT_FOUND')
      assert.is(err.message, 'no lease missing')
    }
    try { await c.get('/v1/nope'); assert.unreachable() } catch (err: any) { assert.is(err.code, 'ERR_NOT_FOUND') }
    const got: unknown[] = []
    for await (const v of c.stream('GET', '/v1/count')) got.push(v)
    assert.equal(got, [{ i: 0 }, { i: 1 }, { i: 2 }])
  } finally {
    await s.stop()
  }
})

test('metrics render in Prometheus text format and are served on loopback', async () => {
  const r = createMetricsRegistry()
  const verdicts = r.counter('souk_gossip_validation_total', 'gossip validation verdicts')
  verdicts.inc({ topic: '/souk/1/orders', verdict: 'reject' })
  verdicts.inc({ topic: '/souk/1/orders', verdict: 'reject' })
  r.gauge('souk_leases', 'leases by state', (g) => g.set(3, { state: 'active' }))
  r.histogram('souk_finality_seconds', 'order to lease', [0.1, 1]).observe(0.2)
  const text = r.render()
  assert.match(text, /# TYPE souk_gossip_validation_total counter/)
  assert.match(text, /souk_gossip_validation_total\{topic="\/souk\/1\/orders",verdict="reject"\} 2/)
  assert.match(text, /souk_leases\{state="active"\} 3/)
  assert.match(text, /souk_finality_seconds_bucket\{le="0.1"\} 0\nsouk_finality_seconds_bucket\{le="1"\} 1/)
  const m = metricsServer({ port: 0 }, { registry: r })
  const { port } = await m.start()
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`)
    assert.is(res.status, 200)
    assert.match(await res.text(), /souk_leases/)
  } finally { await m.stop() }
})

test('the metrics listener holds a bounded number of connections; one past it is dropped and counted', async () => {
  const r = createMetricsRegistry()
  const m = metricsServer({ port: 0 }, { registry: r })
  const { port } = await m.start()
  const open = async (): Promise<Socket> => await new Promise((resolve, reject) => { const s = connect(port, '127.0.0.1', () => resolve(s)); s.once('error', reject) })
  const held: Socket[] = []
  try {
    for (let i = 0; i < MAX_METRICS_CONNECTIONS; i++) held.push(await open())
    const extra = await open()
    // the server closes it without a byte
    await new Promise<void>((resolve) => { extra.once('close', () => resolve()); extra.resume() })
    for (let i = 0; i < 50 && !/souk_metrics_connections_dropped_total 1/.test(r.render()); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.match(r.render(), /souk_metrics_connections_dropped_total 1\n/)
    for (const s of held.splice(0)) s.destroy()
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined)
      if (res != null) { assert.is(res.status, 200); assert.match(await res.text(), /souk_metrics_connections_dropped_total/); return }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.unreachable('no scrape after the idle connections closed')
  } finally {
    for (const s of held) s.destroy()
    await m.stop()
  }
})

test('NDJSON lines survive chunks that split a line or a UTF-8 character', async () => {
  const text = new TextEncoder().encode('{"a":"ü€"}\n{"b":2}\n')
  const chunks = [text.slice(0, 7), text.slice(7, 9), text.slice(9)]
  const got: unknown[] = []
  for await (const v of ndjsonLines((async function * () { yield * chunks })())) got.push(v)
  assert.equal(got, [{ a: 'ü€' }, { b: 2 }])
})

test.run()
