// /souk/time/1.0.0 between two real nodes: the asker learns the answerer's clock offset, a peer
// asking in a loop is refused once past its allowance (and the refusal is counted), and an
// answer that is not a clock is a typed error.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { handleTime, decodeTimeFrame, memoryMetrics, MetricName, NetError, NetErrorCode, Protocol, TIME_REQUEST_LIMIT, FrameTag, FRAME_VERSION, EXCHANGES_METRIC, ExchangeOutcome } from '../../src/net/index.ts'
import type { SoukNode, MemoryMetrics } from '../../src/net/index.ts'
import { startNode, stopAll } from './helpers.ts'

const SKEW_MS = 90_000
let answerer: SoukNode, asker: SoukNode, stranger: SoukNode
let metrics: MemoryMetrics

test.before(async () => {
  metrics = memoryMetrics()
  answerer = await startNode({ metrics })
  asker = await startNode()
  stranger = await startNode()
  // the answerer's clock runs SKEW_MS ahead
  await answerer.libp2p.unhandle(Protocol.TIME)
  await handleTime(answerer.libp2p, { now: () => Date.now() + SKEW_MS, metrics })
  await asker.dial(answerer.multiaddrs()[0])
  await stranger.dial(answerer.multiaddrs()[0])
})

test.after(async () => { await stopAll([answerer, asker, stranger]) })

test('the asker learns the answerer\'s offset, to within half the round trip', async () => {
  const o = await asker.clockOffset(answerer.peerId)
  assert.ok(o.rttMs >= 0)
  // the answer was read between `sent` and `received`: the offset is off by at most half their gap
  assert.ok(Math.abs(o.offsetMs - SKEW_MS) <= o.rttMs / 2 + 1, JSON.stringify(o))
})

test('a peer asking in a loop is answered its burst, then refused, and each refusal is counted', async () => {
  const tries = TIME_REQUEST_LIMIT.burst + 6
  let answered = 0
  let refused = 0
  for (let i = 0; i < tries; i++) {
    try {
      await stranger.clockOffset(answerer.peerId)
      answered++
    } catch (err: any) {
      assert.instance(err, NetError)
      refused++
    }
  }
  // a refill of one token every 5 s may let one more through on a slow machine
  assert.ok(answered >= TIME_REQUEST_LIMIT.burst && answered <= TIME_REQUEST_LIMIT.burst + 1, `answered ${answered}`)
  assert.is(refused, tries - answered)
  assert.is(metrics.get(MetricName.BOUND_HIT, { bound: 'time-requests-per-peer' }), refused)
  // and as refused exchanges, like every protocol's
  assert.is(metrics.get(EXCHANGES_METRIC, { protocol: Protocol.TIME, outcome: ExchangeOutcome.REFUSED, code: NetErrorCode.REFUSED }), refused)
  // another peer's allowance is its own
  await asker.clockOffset(answerer.peerId)
})

test('an answer that is not a clock is a typed error', () => {
  const frame = (now: unknown): unknown => ({ t: FrameTag.TIME, v: FRAME_VERSION, now })
  assert.is(decodeTimeFrame(frame(1_750_000_000_000)), 1_750_000_000_000)
  for (const bad of [2 ** 43 + 1, -1, 1.5, '1750000000000', null]) {
    try {
      decodeTimeFrame(frame(bad))
      assert.unreachable(`accepted ${String(bad)}`)
    } catch (err: any) {
      assert.instance(err, NetError)
      assert.is(err.code, NetErrorCode.MALFORMED_FRAME)
    }
  }
  try {
    decodeTimeFrame({ ...frame(1) as object, extra: 1 })
    assert.unreachable('accepted an extra key')
  } catch (err: any) {
    assert.is(err.code, NetErrorCode.MALFORMED_FRAME)
  }
})

test.run()
