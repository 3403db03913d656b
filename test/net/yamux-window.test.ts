// A stream that receives many small messages announces its receive window once half of it is
// used, not after every frame: counted on the wire, through a loopback proxy between two nodes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { startNode } from './helpers.ts'

const PROTOCOL = '/souk-test/sink/1.0.0'

/** a TCP proxy to `port` that counts the bytes going back from the target to the dialer */
async function proxy (port: number): Promise<{ port: number, back: () => number, close: () => Promise<void> }> {
  let back = 0
  const sockets: Socket[] = []
  const server = createServer((client) => {
    const target = connect(port, '127.0.0.1')
    sockets.push(client, target)
    client.pipe(target)
    target.on('data', (d: Buffer) => { back += d.length })
    target.pipe(client)
    client.on('error', () => target.destroy())
    target.on('error', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    back: () => back,
    close: async () => { for (const s of sockets) s.destroy(); await new Promise<void>((resolve) => server.close(() => { resolve() })) }
  }
}

test('1,000 small messages cost the receiver a window update or two, not one each', async () => {
  const a = await startNode()
  const b = await startNode()
  const tcpPort = Number(a.multiaddrs()[0].split('/')[4])
  const p = await proxy(tcpPort)
  try {
    let received = 0
    let done!: () => void
    const all = new Promise<void>((resolve) => { done = resolve })
    await a.libp2p.handle(PROTOCOL, (stream) => {
      stream.addEventListener('message', (e: any) => { received += e.data.byteLength; if (received >= 1000 * 400) done() })
    })
    const stream = await b.libp2p.dialProtocol(multiaddr(a.multiaddrs()[0].replace(`/tcp/${tcpPort}/`, `/tcp/${p.port}/`)), PROTOCOL)
    // whatever the connection set-up sent back has arrived; count from here
    await new Promise((resolve) => setTimeout(resolve, 500))
    const before = p.back()
    for (let i = 0; i < 1000; i++) {
      if (!stream.send(new Uint8Array(400).fill(i & 0xff))) await stream.onDrain()
      // one message a turn, as gossip sends them
      if ((i & 7) === 7) await new Promise((resolve) => setImmediate(resolve))
    }
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 10_000).unref())])
    assert.is(received, 1000 * 400)
    // a window update is a 12-byte yamux header in a noise frame (2-byte length, 16-byte tag):
    // one per message would be ~30 KB back; the half-window rule sends one per 128 KiB
    const backBytes = p.back() - before
    assert.ok(backBytes < 3_000, `${backBytes} bytes came back while 400 KB went out`)
  } finally {
    await p.close()
    await b.stop()
    await a.stop()
  }
})

test.run()
