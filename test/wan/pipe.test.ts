// A shaped pipe between real loopback sockets: an echo through it takes the round trip the links
// say (measured with bounded loops, asserted with wide margins and as orderings), a bulk transfer
// is held to the bandwidth cap, a lossy link is slower than a clean one, and every byte arrives in
// order with the end passed on after them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect } from 'node:net'
import type { Server, Socket } from 'node:net'
import { createHash, randomBytes } from 'node:crypto'
import { WanLink, shapedPipe } from '../../src/net/wan/index.ts'
import type { LinkParams } from '../../src/net/wan/index.ts'

const clean = (delayMs: number, bandwidthBps = 0): LinkParams => ({ delayMs, jitterMs: 0, loss: 0, rtoMs: delayMs * 2 + 200, bandwidthBps })

interface Rig { client: Socket, close: () => Promise<void> }

/** echo server ← shaped pipe ← client; `sink` instead of echo counts and hashes what arrives */
async function rig (ab: LinkParams, ba: LinkParams, mode: 'echo' | 'sink' = 'echo', onSink?: (s: Socket) => void): Promise<Rig> {
  const servers: Server[] = []
  const sockets: Socket[] = []
  const listen = async (s: Server): Promise<number> => { servers.push(s); await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve())); return (s.address() as any).port }
  const target = createServer((s) => { sockets.push(s); if (mode === 'echo') s.pipe(s); else onSink?.(s) })
  const targetPort = await listen(target)
  const front = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s)
    const up = connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true })
    shapedPipe(s, up, new WanLink(ab, 1), new WanLink(ba, 2))
  })
  const frontPort = await listen(front)
  const client = connect({ host: '127.0.0.1', port: frontPort, noDelay: true })
  await new Promise<void>((resolve) => client.once('connect', () => resolve()))
  return {
    client,
    close: async () => {
      client.destroy()
      for (const s of sockets) s.destroy()
      for (const s of servers) { await new Promise<void>((resolve) => s.close(() => resolve())) }
    }
  }
}

/** median round trip of `n` one-byte echoes, ms */
async function echoRtt (client: Socket, n: number): Promise<number> {
  const rtts: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const got = new Promise<void>((resolve) => client.once('data', () => resolve()))
    client.write('x')
    await got
    rtts.push(performance.now() - t0)
  }
  rtts.sort((a, b) => a - b)
  return rtts[Math.floor(n / 2)]
}

test('delay: an echo takes at least both one-way delays, and more delay takes longer', async () => {
  const slow = await rig(clean(40), clean(35))
  const fast = await rig(clean(1), clean(1))
  try {
    const s = await echoRtt(slow.client, 10)
    const f = await echoRtt(fast.client, 10)
    assert.ok(s >= 75, `75 ms of links, echo took ${s.toFixed(1)} ms`)
    assert.ok(s < 2_000, `echo took ${s.toFixed(1)} ms`)
    assert.ok(f < s, `fast ${f.toFixed(1)} ms, slow ${s.toFixed(1)} ms`)
  } finally {
    await slow.close()
    await fast.close()
  }
})

test('bandwidth: 1 MB through 20 Mbit/s takes at least 0.4 s and arrives whole and in order', async () => {
  const data = randomBytes(1024 * 1024)
  let received = 0
  const hash = createHash('sha256')
  let ended!: () => void
  const done = new Promise<void>((resolve) => { ended = resolve })
  const r = await rig(clean(5, 20_000_000), clean(5), 'sink', (s) => {
    s.on('data', (b: Buffer) => { received += b.length; hash.update(b) })
    s.on('end', () => ended())
  })
  try {
    const t0 = performance.now()
    r.client.end(data)
    await done
    const ms = performance.now() - t0
    assert.is(received, data.length)
    assert.is(hash.digest('hex'), createHash('sha256').update(data).digest('hex'))
    assert.ok(ms >= 400, `1 MB at 20 Mbit/s took ${ms.toFixed(0)} ms`)
    assert.ok(ms < 20_000, `took ${ms.toFixed(0)} ms`)
  } finally {
    await r.close()
  }
})

test('loss: with segments lost the same echoes take longer than on the clean link', async () => {
  const lossyLink: LinkParams = { delayMs: 5, jitterMs: 0, loss: 0.3, rtoMs: 60, bandwidthBps: 0 }
  const lossy = await rig(lossyLink, lossyLink)
  const cleanRig = await rig(clean(5), clean(5))
  try {
    const total = async (c: Socket): Promise<number> => { const t0 = performance.now(); await echoRtt(c, 30); return performance.now() - t0 }
    const l = await total(lossy.client)
    const c = await total(cleanRig.client)
    // 30 echoes × 2 directions × 0.3 × 60 ms ≈ 1 s more on average
    assert.ok(l > c + 300, `lossy ${l.toFixed(0)} ms, clean ${c.toFixed(0)} ms`)
  } finally {
    await lossy.close()
    await cleanRig.close()
  }
})

test.run()
