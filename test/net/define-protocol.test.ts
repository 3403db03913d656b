// defineProtocol between two real nodes: what it serves it counts (served, refused with its code,
// failed, timed out), what breaks a limit it refuses (frame size, inbound streams, the per-peer
// rate, the authority check), handler failures are logged under the protocol's name, and stop()
// takes the protocol off the node.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { defineProtocol, memoryMetrics, MetricName, EXCHANGES_METRIC, ExchangeOutcome, NetErrorCode, accept, refuse } from '../../src/net/index.ts'
import type { SoukNode, MemoryMetrics, ProtocolLogger, ProtocolSpec, StreamProtocol, ExchangeHandler } from '../../src/net/index.ts'
import { startNode, stopAll, waitFor } from './helpers.ts'

const V1 = '/souk-test/echo/1.0.0'
const V2 = '/souk-test/echo/2.0.0'

let server: SoukNode, client: SoukNode, other: SoukNode
let metrics: MemoryMetrics
const logs: Array<{ level: 'warn' | 'debug', message: string, fields: Record<string, unknown> }> = []
const logger: ProtocolLogger = {
  warn: (fields, message) => { logs.push({ level: 'warn', message, fields }) },
  debug: (fields, message) => { logs.push({ level: 'debug', message, fields }) }
}
const services: StreamProtocol[] = []

// answers one frame: echoes it, or does what it names
const echo: ExchangeHandler = async ({ frames, signal }) => {
  const v = await frames.readRequired('request')
  if (v === 'sleep') await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })
  if (v === 'throw') throw new Error('the handler broke')
  if (v === 'refuse') {
    await frames.write({ refused: 'not-today' })
    await frames.close()
    return { refused: 'not-today' }
  }
  await frames.write({ echo: v })
  await frames.close()
  return undefined
}

async function serve (spec: Partial<ProtocolSpec> & { ids: string[] }, handler = echo): Promise<ReturnType<typeof defineProtocol>> {
  const def = defineProtocol({ name: 'echo', maxInboundStreams: 8, runOnLimitedConnection: false, maxFrameBytes: 64, maxFrames: 1, timeoutMs: 5_000, ...spec })
  const service = def.serve({ libp2p: server.libp2p, metrics, logger }, handler)
  await service.start()
  services.push(service)
  return def
}

/** one request, one answer; the error's code when the exchange fails */
async function ask (def: ReturnType<typeof defineProtocol>, value: unknown, opts: { id?: string, from?: SoukNode } = {}): Promise<unknown> {
  const { frames } = await def.dial((opts.from ?? client).libp2p, server.peerId, { id: opts.id, timeoutMs: 10_000, maxFrameBytes: 1024, maxWriteBytes: 1024 })
  try {
    await frames.write(value)
    await frames.close()
    return await frames.readRequired('answer')
  } catch (err) {
    frames.abort(err as Error)
    return { failed: (err as { code?: string }).code ?? (err as Error).name }
  }
}

const count = (id: string, outcome: string, code = ''): number => metrics.get(EXCHANGES_METRIC, { protocol: id, outcome, code })

test.before(async () => {
  metrics = memoryMetrics()
  server = await startNode()
  client = await startNode()
  other = await startNode()
  await client.dial(server.multiaddrs()[0])
  await other.dial(server.multiaddrs()[0])
})

test.after(async () => {
  for (const s of services) await s.stop()
  await stopAll([server, client, other])
})

test('an exchange is served on every version and counted under the id the remote chose', async () => {
  const def = await serve({ ids: [V1, V2] })
  assert.equal(await ask(def, 'hello'), { echo: 'hello' })
  assert.equal(await ask(def, 'again', { id: V2 }), { echo: 'again' })
  assert.ok(await waitFor(() => count(V1, ExchangeOutcome.SERVED) === 1 && count(V2, ExchangeOutcome.SERVED) === 1))
})

test('a frame over the limit is refused: the exchange fails, is counted and logged at warn', async () => {
  const def = await serve({ ids: ['/souk-test/small/1.0.0'] })
  const r = await ask(def, 'x'.repeat(200)) as { failed?: string }
  assert.ok(r.failed != null, `the oversized frame was answered: ${JSON.stringify(r)}`)
  assert.ok(await waitFor(() => count('/souk-test/small/1.0.0', ExchangeOutcome.FAILED, NetErrorCode.FRAME_TOO_LARGE) === 1), JSON.stringify(metrics.snapshot()))
  assert.ok(logs.some((l) => l.level === 'warn' && l.message.startsWith('echo:') && l.fields.code === NetErrorCode.FRAME_TOO_LARGE))
})

test('a peer repeating a bad frame: every exchange counted, a single warn line logged', async () => {
  const id = '/souk-test/flooded/1.0.0'
  const def = await serve({ ids: [id] })
  for (let i = 0; i < 40; i++) await ask(def, 'x'.repeat(200))
  assert.ok(await waitFor(() => count(id, ExchangeOutcome.FAILED, NetErrorCode.FRAME_TOO_LARGE) === 40), JSON.stringify(metrics.snapshot()))
  assert.is(logs.filter((l) => l.level === 'warn' && l.fields.protocol === id).length, 1)
})

test('the exchange deadline fires and the exchange is counted as timed out', async () => {
  const def = await serve({ ids: ['/souk-test/slow/1.0.0'], timeoutMs: 200 })
  const r = await ask(def, 'sleep') as { failed?: string }
  assert.ok(r.failed != null, 'a stream past its deadline was answered')
  assert.ok(await waitFor(() => count('/souk-test/slow/1.0.0', ExchangeOutcome.TIMED_OUT) === 1), JSON.stringify(metrics.snapshot()))
})

test('a handler that throws: the stream is reset, the failure counted and logged with the protocol\'s name', async () => {
  const def = await serve({ ids: ['/souk-test/broken/1.0.0'] })
  const r = await ask(def, 'throw') as { failed?: string }
  assert.ok(r.failed != null)
  assert.ok(await waitFor(() => count('/souk-test/broken/1.0.0', ExchangeOutcome.FAILED) === 1), JSON.stringify(metrics.snapshot()))
  const entry = logs.find((l) => l.fields.protocol === '/souk-test/broken/1.0.0')
  assert.ok(entry != null && entry.message.startsWith('echo:') && String(entry.fields.err).includes('the handler broke'), JSON.stringify(logs))
})

test('an answered refusal is counted with its code', async () => {
  const def = await serve({ ids: ['/souk-test/refusing/1.0.0'] })
  assert.equal(await ask(def, 'refuse'), { refused: 'not-today' })
  assert.ok(await waitFor(() => count('/souk-test/refusing/1.0.0', ExchangeOutcome.REFUSED, 'not-today') === 1))
})

test('past its rate limit a peer is refused unanswered and the bound counted; another peer keeps its own allowance', async () => {
  const def = await serve({ ids: ['/souk-test/limited/1.0.0'], rateLimit: { perSecond: 0.001, burst: 2, bound: 'echo-per-peer' } })
  const answers = []
  for (let i = 0; i < 4; i++) answers.push(await ask(def, i))
  assert.equal(answers.slice(0, 2), [{ echo: 0 }, { echo: 1 }])
  assert.ok(answers.slice(2).every((a) => (a as { failed?: string }).failed != null), JSON.stringify(answers))
  assert.ok(await waitFor(() => count('/souk-test/limited/1.0.0', ExchangeOutcome.REFUSED, NetErrorCode.REFUSED) === 2))
  assert.is(metrics.get(MetricName.BOUND_HIT, { bound: 'echo-per-peer' }), 2)
  assert.equal(await ask(def, 'mine', { from: other }), { echo: 'mine' })
})

test('the authority check refuses a peer before the handler runs', async () => {
  let ran = 0
  const def = await serve({
    ids: ['/souk-test/members/1.0.0'],
    authorize: (peer) => peer.equals(other.peerId) ? accept() : refuse('not-member', 'members only')
  }, async (ex) => { ran++; return await echo(ex) })
  assert.ok((await ask(def, 'let me in') as { failed?: string }).failed != null)
  assert.equal(await ask(def, 'member', { from: other }), { echo: 'member' })
  assert.is(ran, 1)
  assert.ok(await waitFor(() => count('/souk-test/members/1.0.0', ExchangeOutcome.REFUSED, NetErrorCode.NOT_AUTHORIZED) === 1))
})

test('inbound streams beyond maxInboundStreams are refused', async () => {
  let entered = 0
  const def = await serve({ ids: ['/souk-test/one-at-a-time/1.0.0'], maxInboundStreams: 1 }, async (ex) => { entered++; return await echo(ex) })
  const first = ask(def, 'sleep')
  assert.ok(await waitFor(() => entered === 1))
  const second = await ask(def, 'second') as { failed?: string }
  assert.ok(second.failed != null, `a second stream was served: ${JSON.stringify(second)}`)
  assert.is(entered, 1)
  // the first one is still held: stopping the service ends it
  const service = services.at(-1)!
  await service.stop()
  assert.ok(((await first) as { failed?: string }).failed != null)
})

test('stop() unregisters every version', async () => {
  const def = await serve({ ids: ['/souk-test/stopping/1.0.0', '/souk-test/stopping/2.0.0'] })
  const service = services.at(-1)!
  assert.ok(server.libp2p.getProtocols().includes('/souk-test/stopping/2.0.0'))
  await service.stop()
  assert.not.ok(service.isStarted())
  assert.not.ok(server.libp2p.getProtocols().some((p) => p.startsWith('/souk-test/stopping/')))
  try {
    await def.dial(client.libp2p, server.peerId, { timeoutMs: 5_000 })
    assert.unreachable('a stopped protocol was dialled')
  } catch (err) {
    assert.ok(err instanceof Error)
  }
})

test.run()
