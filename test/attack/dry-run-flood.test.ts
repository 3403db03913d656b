// `/souk/explain/2.0.0` makes a provider evaluate an order anyone can sign (its capacity check and
// its pricing, a script perhaps). A peer asking in a loop, many at once, or under many peer IDs gets
// its allowance and no more: the rest are reset before the bid engine sees them, and counted.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { openMessage, MessageTag } from '../../src/wire/index.ts'
import type { OrderBody } from '../../src/wire/index.ts'
import { memoryMetrics, MetricName, peerIsKey } from '../../src/net/index.ts'
import type { SoukNode, MemoryMetrics } from '../../src/net/index.ts'
import { askExplain, handleExplain, DRY_RUN_PEER_LIMIT, MAX_DRY_RUNS_IN_FLIGHT } from '../../src/net/index.ts'
import type { ExplainHandlers, ExplainLimits } from '../../src/net/index.ts'
import type { Decision } from '../../src/market/index.ts'
import { signOrder, startNode, stopAll, waitFor } from '../net/helpers.ts'

const nodes: SoukNode[] = []
test.after(async () => { await stopAll(nodes) })

async function node (metrics?: MemoryMetrics): Promise<SoukNode> {
  const n = await startNode(metrics != null ? { metrics } : {})
  nodes.push(n)
  return n
}

interface Provider { net: SoukNode, metrics: MemoryMetrics, evaluated: () => number, hold: (on: boolean) => void }

/** a provider whose dry run opens the envelope as the real one does and counts what it evaluates */
async function provider (limits?: ExplainLimits): Promise<Provider> {
  const metrics = memoryMetrics()
  const net = await node(metrics)
  let evaluated = 0
  let gate: Promise<void> | undefined
  let open: () => void = () => {}
  const dryRun: ExplainHandlers['dryRun'] = async (envelope, remote) => {
    const order = openMessage<OrderBody>(envelope, { expect: MessageTag.ORDER })
    if (!peerIsKey(remote, order.signer)) return undefined
    evaluated++
    await gate
    const d: Decision = { order: order.idHex, tenant: remote.toString(), decidedAt: Date.now(), outcome: 'bid', reasons: [], prices: [{ denom: 'uakt', amount: '1' }] }
    return d
  }
  await handleExplain(net, { lookup: async () => undefined, dryRun }, limits)
  return {
    net,
    metrics,
    evaluated: () => evaluated,
    hold: (on) => {
      if (on) gate = new Promise((resolve) => { open = resolve })
      else { open(); gate = undefined }
    }
  }
}

async function dryRun (from: SoukNode, to: SoukNode): Promise<boolean> {
  const order = signOrder(from.identity)
  try {
    const a = await askExplain(from, to.peerId, order.id, undefined, { dryRun: order.bytes })
    assert.is(a.decision?.outcome, 'bid')
    return true
  } catch {
    return false
  }
}

const hits = (p: Provider, bound: string): number => p.metrics.get(MetricName.BOUND_HIT, { bound })

test('one peer asking in a loop: its burst is evaluated, the rest reset unevaluated and counted', async () => {
  const p = await provider()
  const stranger = await node()
  await stranger.dial(p.net.multiaddrs()[0])
  const tries = DRY_RUN_PEER_LIMIT.burst + 10
  let answered = 0
  for (let i = 0; i < tries; i++) if (await dryRun(stranger, p.net)) answered++
  // a refill (one every 2 s) may let one or two more through on a slow machine
  assert.ok(answered >= DRY_RUN_PEER_LIMIT.burst && answered <= DRY_RUN_PEER_LIMIT.burst + 2, `answered ${answered}`)
  assert.is(p.evaluated(), answered)
  assert.is(hits(p, 'dry-runs-per-peer'), tries - answered)
  // another peer's allowance is its own
  const tenant = await node()
  await tenant.dial(p.net.multiaddrs()[0])
  assert.ok(await dryRun(tenant, p.net))
})

test('many dry runs at once: at most MAX_DRY_RUNS_IN_FLIGHT are evaluated together', async () => {
  const p = await provider({ peer: { perSecond: 100, burst: 100 } })
  const stranger = await node()
  await stranger.dial(p.net.multiaddrs()[0])
  p.hold(true)
  const n = MAX_DRY_RUNS_IN_FLIGHT + 4
  const all = Array.from({ length: n }, async () => await dryRun(stranger, p.net))
  assert.ok(await waitFor(() => p.evaluated() === MAX_DRY_RUNS_IN_FLIGHT && hits(p, 'dry-runs-in-flight') === n - MAX_DRY_RUNS_IN_FLIGHT), `evaluated ${p.evaluated()}, refused ${hits(p, 'dry-runs-in-flight')}`)
  p.hold(false)
  const ok = (await Promise.all(all)).filter(Boolean).length
  assert.is(ok, MAX_DRY_RUNS_IN_FLIGHT)
  assert.is(p.evaluated(), MAX_DRY_RUNS_IN_FLIGHT)
  // the slots come back
  assert.ok(await dryRun(stranger, p.net))
})

test('fresh peer IDs do not get around the total', async () => {
  const p = await provider({ total: { perSecond: 0.001, burst: 3 } })
  let answered = 0
  for (let i = 0; i < 3; i++) {
    const s = await node()
    await s.dial(p.net.multiaddrs()[0])
    if (await dryRun(s, p.net)) answered++
    if (await dryRun(s, p.net)) answered++
  }
  assert.is(answered, 3)
  assert.is(p.evaluated(), 3)
  assert.is(hits(p, 'dry-runs'), 3)
})

test.run()
