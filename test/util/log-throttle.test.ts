// The warning throttle: one line per key per interval, a cap over all keys, and every line left
// out is reported on the next one let through.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { logThrottle } from '../../src/util/index.ts'

test('one line per key per interval; the next line says how many were left out', () => {
  let t = 0
  const th = logThrottle({ intervalMs: 1000, maxKeys: 10, maxPerInterval: 100, now: () => t })
  assert.is(th.admit('a'), 0)
  for (let i = 0; i < 500; i++) { t += 1; assert.is(th.admit('a'), undefined) }
  assert.is(th.admit('b'), 0, 'another key has its own allowance')
  t = 1000
  assert.is(th.admit('a'), 500)
  assert.is(th.admit('a'), undefined)
})

test('many keys at once: at most maxPerInterval lines, the rest reported on the first line after', () => {
  let t = 0
  const th = logThrottle({ intervalMs: 1000, maxKeys: 10_000, maxPerInterval: 5, now: () => t })
  let logged = 0
  for (let i = 0; i < 1000; i++) if (th.admit(`peer-${i}`) != null) logged++
  assert.is(logged, 5)
  t = 1000
  assert.is(th.admit('peer-late'), 995)
})

test('keys are bounded: the least recently logged is forgotten first', () => {
  let t = 0
  const th = logThrottle({ intervalMs: 1000, maxKeys: 3, maxPerInterval: 100, now: () => t })
  for (const k of ['a', 'b', 'c', 'd']) th.admit(k)
  // 'a' was forgotten, so it is logged again at once; 'd' is still held back
  assert.is(th.admit('a'), 0)
  assert.is(th.admit('d'), undefined)
})

test.run()
