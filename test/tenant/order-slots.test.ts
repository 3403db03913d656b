// The tenant's queue of its own orders: at most `max` open, first come first served, a freed slot
// handed to the first in line (nobody arriving meanwhile jumps it), an abort leaves the line.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { setTimeout as sleep } from 'node:timers/promises'
import { OrderSlots } from '../../src/node/tenant/order-slots.ts'

test('up to max at once; the next waits, says so once, and goes when a slot is freed', async () => {
  const s = new OrderSlots(2, 0)
  const a = await s.acquire()
  const b = await s.acquire()
  assert.is(s.open, 2)
  const waits: Array<[number, number]> = []
  let got = false
  const c = s.acquire(undefined, (open, queued) => waits.push([open, queued])).then((free) => { got = true; return free })
  await sleep(5)
  assert.is(got, false)
  assert.equal(waits, [[2, 1]])
  a()
  const freeC = await c
  assert.is(s.open, 2)
  a() // a second call frees nothing
  assert.is(s.open, 2)
  b(); freeC()
  assert.is(s.open, 0)
})

test('first come, first served; a slot freed goes to the first in line, not to one arriving meanwhile', async () => {
  const s = new OrderSlots(1, 0)
  const first = await s.acquire()
  const order: string[] = []
  const w1 = s.acquire().then((f) => { order.push('w1'); return f })
  const w2 = s.acquire().then((f) => { order.push('w2'); return f })
  first()
  // arrives after the free, before w1 has run: must queue behind w2
  const late = s.acquire().then((f) => { order.push('late'); return f })
  ;(await w1)()
  ;(await w2)()
  ;(await late)()
  assert.equal(order, ['w1', 'w2', 'late'])
  assert.is(s.open, 0)
})

test('an abort while waiting rejects with its reason and takes no slot', async () => {
  const s = new OrderSlots(1, 0)
  const a = await s.acquire()
  const ac = new AbortController()
  const waiting = s.acquire(ac.signal)
  ac.abort(new Error('the user pressed ^C'))
  await waiting.then(() => assert.unreachable('took a slot'), (err: Error) => assert.match(err.message, /pressed \^C/))
  assert.is(s.queued, 0)
  a()
  assert.is(s.open, 0)
  await assert.not.throws(async () => { (await s.acquire())() })
})

test('a freed slot stays taken for the release delay (providers hear of the outcome later)', async () => {
  const s = new OrderSlots(1, 40)
  const a = await s.acquire()
  a()
  assert.is(s.open, 1)
  // freed once the delay has passed (polled: a busy machine fires timers late)
  for (let i = 0; i < 500 && s.open !== 0; i++) await sleep(10)
  assert.is(s.open, 0)
})

test.run()
