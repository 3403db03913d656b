// The timer every Docker and Kubernetes API call races against: the call's own outcome when it
// settles first, the caller's error when the time runs out, and no timer left behind either way.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { setTimeout as sleep } from 'node:timers/promises'
import { withTimeout } from '../../src/runtime/timeout.ts'
import { RuntimeUnavailableError } from '../../src/runtime/errors.ts'

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
const late = (): Error => new RuntimeUnavailableError('call x timed out after 50 ms')

test.before(async () => { await sleep(20) }) // timers of the test runner's own start are done

test('a call that answers in time gives its answer and leaves no timer', async () => {
  const before = timers()
  const p = withTimeout(Promise.resolve(7), 60_000, late)
  const during = timers()
  assert.is(during, before + 1, 'the call runs against a timer')
  assert.is(await p, 7)
  assert.is(timers(), before, 'the 60 s timer is gone')
})

test('a call that fails in time gives its own error and leaves no timer', async () => {
  const own = new Error('no such container')
  const p = withTimeout(Promise.reject(own), 60_000, late)
  const during = timers()
  try {
    await p
    assert.unreachable('it rejects')
  } catch (err) {
    assert.is(err, own)
  }
  assert.ok(timers() < during, 'the 60 s timer is gone')
})

test('a call that does not answer in time fails with the caller\'s error', async () => {
  const never = new Promise<number>(() => {})
  try {
    await withTimeout(never, 50, late)
    assert.unreachable('it rejects')
  } catch (err) {
    assert.instance(err, RuntimeUnavailableError)
    assert.match((err as Error).message, 'timed out after 50 ms')
  }
  // an answer after the time is up changes nothing
  let settle: (v: number) => void = () => {}
  const slow = new Promise<number>((resolve) => { settle = resolve })
  const result = withTimeout(slow, 20, late).then(() => 'answered', () => 'timed out')
  await sleep(60)
  settle(1)
  assert.is(await result, 'timed out')
})

test.run()
