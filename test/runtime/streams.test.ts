// Log and exec output is bounded in bytes: a reader that falls behind pauses the container's
// stream instead of buffering what the tenant writes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { ByteQueue, dockerRuntime, MAX_STREAM_BUFFER_BYTES, StreamOverflowError } from '../../src/runtime/index.ts'
import { STREAM_ITEM_OVERHEAD_BYTES } from '../../src/runtime/constants.ts'
import { dockerFromEnv } from '../helpers/docker.ts'
import { manifestOf, newLease, service } from './manifests.ts'

test('a byte-bounded queue pauses its source above its bound and resumes below half of it', async () => {
  const events: string[] = []
  const q = new ByteQueue<Uint8Array>({ maxBytes: 1000, size: (b) => b.length, pause: () => events.push('pause'), resume: () => events.push('resume') })
  for (let i = 0; i < 5; i++) q.push(new Uint8Array(300))
  assert.equal(events, ['pause'])
  assert.is(q.bytes, 5 * (300 + STREAM_ITEM_OVERHEAD_BYTES))
  const it = q[Symbol.asyncIterator]()
  let read = 0
  for (let i = 0; i < 4; i++) read += ((await it.next()).value as Uint8Array).length
  // 300 bytes left: below half the bound, the source goes on
  assert.equal(events, ['pause', 'resume'])
  q.end()
  for (let r = await it.next(); r.done !== true; r = await it.next()) read += r.value.length
  assert.is(read, 1500)
})

test('a source that ignores the pause ends the stream with a typed error, not unbounded memory', async () => {
  const q = new ByteQueue<Uint8Array>({ maxBytes: 1000, size: (b) => b.length, pause: () => {}, resume: () => {} })
  for (let i = 0; i < 20; i++) q.push(new Uint8Array(300))
  assert.ok(q.peak <= 4 * 1000 + 300 + STREAM_ITEM_OVERHEAD_BYTES)
  try {
    for await (const _ of q) { /* drains nothing: the error comes first */ }
    assert.unreachable('the stream should have ended with an error')
  } catch (err) {
    assert.instance(err, StreamOverflowError)
  }
})

test('one-byte writes: each item costs its overhead too, so the source is paused after a bounded count of them', async () => {
  let paused = false
  const q = new ByteQueue<Uint8Array>({ size: (b) => b.length, pause: () => { paused = true }, resume: () => { paused = false } })
  const one = new Uint8Array(1)
  // a source that honours the pause, as the container streams do
  for (let i = 0; i < MAX_STREAM_BUFFER_BYTES && !paused; i++) q.push(one)
  assert.ok(paused)
  assert.ok(q.length <= MAX_STREAM_BUFFER_BYTES / (1 + STREAM_ITEM_OVERHEAD_BYTES) + 1, `${q.length} one-byte items held`)
  const held = q.length
  q.end()
  let read = 0
  for await (const _ of q) read++
  assert.is(read, held)
  assert.is(q.bytes, 0)
})

const docker = dockerFromEnv()
if (docker != null) {
  const runtime = dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance: `souk-test-${randomBytes(4).toString('hex')}`, pull: 'never' })()

  test('exec output of 64 MiB waits in the container while the reader is slow, then arrives whole', async () => {
    const lease = newLease()
    await runtime.deploy(lease, manifestOf(service('w', { command: ['sleep', '600'] })))
    try {
      const h = await runtime.exec(lease.leaseId, { service: 'w', command: ['sh', '-c', 'head -c 67108864 /dev/zero'] })
      h.stdin.end()
      const before = process.memoryUsage().arrayBuffers
      // the reader takes nothing for a while: the tenant's 64 MiB must not pile up here
      await new Promise((resolve) => setTimeout(resolve, 1500))
      const grown = process.memoryUsage().arrayBuffers - before
      assert.ok(grown < 8 * MAX_STREAM_BUFFER_BYTES, `buffered ${Math.round(grown / 1024 / 1024)} MiB while nobody read`)
      let total = 0
      for await (const o of h.output) total += o.data.length
      assert.is(total, 64 * 1024 * 1024)
      assert.is(await h.exitCode, 0)
    } finally {
      await runtime.close(lease.leaseId)
    }
  })
}

test.run()
