// A link's arithmetic, without a clock: delay and jitter stay in their band, bytes never arrive
// out of order, the bandwidth cap spaces a burst, loss strikes about as often as the profile says
// and costs a retransmission timeout, and one seed always gives the same schedule.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WanLink, SEGMENT_BYTES, wanProfile } from '../../src/net/wan/index.ts'

test('delay and jitter: every small chunk arrives within delay ± jitter of when it was sent, in order', () => {
  const p = { delayMs: 50, jitterMs: 5, loss: 0, rtoMs: 300, bandwidthBps: 0 }
  const link = new WanLink(p, 1)
  let last = 0
  let lo = Infinity
  let hi = -Infinity
  for (let i = 0; i < 2000; i++) {
    const sent = i * 10
    const at = link.schedule(100, sent)
    assert.ok(at >= last, 'never before an earlier chunk')
    last = at
    lo = Math.min(lo, at - sent)
    hi = Math.max(hi, at - sent)
  }
  assert.ok(lo >= 45 && hi <= 55, `delays ${lo}..${hi}`)
  // the jitter is used, not a constant
  assert.ok(hi - lo > 5, `spread ${hi - lo}`)
})

test('bandwidth: a burst of 1 MB at 8 Mbit/s takes a second to cross, then the delay', () => {
  const link = new WanLink({ delayMs: 20, jitterMs: 0, loss: 0, rtoMs: 220, bandwidthBps: 8_000_000 }, 1)
  let at = 0
  for (let i = 0; i < 64; i++) at = link.schedule(16384, 0)
  const expected = (64 * 16384 * 8) / 8_000_000 * 1000 + 20
  assert.ok(Math.abs(at - expected) < 1, `${at} vs ${expected}`)
  // an idle link does not bank credit: a chunk written later waits only for its own bytes
  const later = link.schedule(1000, 10_000)
  assert.ok(Math.abs(later - (10_000 + 1 + 20)) < 0.01, `${later}`)
})

test('loss: about the configured share of segments is lost, each costing at least one RTO', () => {
  const p = { delayMs: 10, jitterMs: 0, loss: 0.02, rtoMs: 220, bandwidthBps: 0 }
  const link = new WanLink(p, 'loss-test')
  let late = 0
  const chunks = 20_000
  for (let i = 0; i < chunks; i++) {
    const sent = i * 1000 // far apart, so no chunk waits behind another's retransmission
    const d = link.schedule(SEGMENT_BYTES, sent) - sent
    if (d > 10) {
      late++
      assert.ok(d >= 230, `a lost segment is late by an RTO (${d})`)
    } else {
      assert.is(d, 10)
    }
  }
  const share = late / chunks
  assert.ok(share > 0.01 && share < 0.03, `lost share ${share}`)
  assert.is(link.stats.segments, chunks)
  assert.ok(link.stats.lostSegments >= late)
  // a chunk of many segments is hit more often: 100 segments at 2 % lose one with p ≈ 0.87
  const big = new WanLink(p, 'big')
  let bigLate = 0
  for (let i = 0; i < 1000; i++) if (big.schedule(100 * SEGMENT_BYTES, i * 10_000) - i * 10_000 > 10) bigLate++
  assert.ok(bigLate > 700 && bigLate < 980, `big chunks late: ${bigLate}`)
})

test('a lost chunk holds back the chunks behind it (in-order delivery)', () => {
  const link = new WanLink({ delayMs: 10, jitterMs: 0, loss: 0.3, rtoMs: 200, bandwidthBps: 0 }, 3)
  const times = Array.from({ length: 200 }, (_, i) => link.schedule(100, i))
  for (let i = 1; i < times.length; i++) assert.ok(times[i] >= times[i - 1])
  // some chunk sent after a lost one arrives no earlier than it, though its own trip was clean
  assert.ok(times.some((t, i) => i > 0 && t === times[i - 1] && t - i > 10))
})

test('one seed, one schedule; another seed, another', () => {
  const p = wanProfile('lossy').link('us-east', 'sa-east')
  const run = (seed: number | string): number[] => { const l = new WanLink(p, seed); return Array.from({ length: 500 }, (_, i) => l.schedule(500 + (i % 7) * 300, i * 3)) }
  assert.equal(run(42), run(42))
  assert.equal(run('a'), run('a'))
  assert.not.equal(run(42), run(43))
})

test.run()
