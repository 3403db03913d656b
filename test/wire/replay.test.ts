// The replay window: it forgets by creation time, never lets its floor pass the present, and
// refuses rather than forgets when it is full of recent messages.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ReplayWindow, ReplayWindows, WireError } from '../../src/wire/index.ts'

const code = (f: () => void): string => { try { f(); return 'ok' } catch (err: any) { assert.instance(err, WireError); return err.code } }
const now = 1_800_000_000_000

test('it forgets the oldest by creation time, not by arrival', () => {
  const w = new ReplayWindow({ capacity: 3 })
  w.accept('a', now - 100_000, now)
  w.accept('b', now - 300_000, now)
  w.accept('c', now - 200_000, now)
  w.accept('d', now - 50_000, now) // full: b, the oldest, goes
  assert.is(w.size, 3)
  assert.is(w.floor, now - 300_000 + 1)
  for (const id of ['a', 'c', 'd']) assert.is(code(() => w.check(id, now - 100_000, now)), 'ERR_WIRE_REPLAY', id)
  assert.is(code(() => w.check('b', now - 300_000, now)), 'ERR_WIRE_STALE')
  assert.is(code(() => w.check('e', now - 250_000, now)), 'ok')
})

test('full of messages younger than 30 s, it refuses new ones, forgets none, and keeps its floor in the past', () => {
  const w = new ReplayWindow({ capacity: 10 })
  for (let i = 0; i < 10; i++) w.accept(`ahead${i}`, now + 29_000, now)
  assert.is(code(() => w.accept('honest', now, now)), 'ERR_WIRE_WINDOW_FULL')
  assert.ok(w.floor <= now - 30_000)
  // add() without check() forgets none of them either, and moves no floor
  w.add('forced', now, now)
  assert.is(w.size, 10)
  assert.ok(w.floor <= now - 30_000, `floor ${w.floor - now} ms from now`)
  assert.is(code(() => w.check('honest2', now - 1_000, now)), 'ERR_WIRE_WINDOW_FULL')
  // once those are older than the retention they may go, and honest messages come in again
  const later = now + 29_000 + 30_001
  assert.is(code(() => w.accept('honest', later, later)), 'ok')
  assert.ok(w.floor <= later - 30_000, `floor ${w.floor - later} ms from now`)
})

test('one window per topic, each with its own capacity', () => {
  const ws = new ReplayWindows({ capacity: { a: 2 }, defaultCapacity: 5 })
  for (let i = 0; i < 5; i++) ws.for('b').accept(`b${i}`, now, now)
  assert.is(code(() => ws.for('a').accept('x', now, now)), 'ok')
  assert.is(ws.for('b').size, 5)
  assert.is(ws.size, 6)
  assert.is(code(() => ws.for('b').check('b0', now, now)), 'ERR_WIRE_REPLAY')
  assert.is(code(() => ws.for('a').check('b0', now, now)), 'ok')
})

test.run()
