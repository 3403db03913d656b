// Coalesced writes: what a connection sends in one tick reaches the socket as one write, the
// bytes arrive intact and in order, and a closed socket is left alone.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect } from 'node:net'
import type { Socket, AddressInfo } from 'node:net'
import { once } from 'node:events'
import { coalesceWrites } from '../../src/net/coalesce.ts'

async function pair (): Promise<{ client: Socket, received: () => Buffer, close: () => Promise<void> }> {
  const chunks: Buffer[] = []
  const server = createServer((s) => { s.on('data', (d) => chunks.push(d)) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1')
  await once(client, 'connect')
  return {
    client,
    received: () => Buffer.concat(chunks),
    close: async () => { client.destroy(); await new Promise((resolve) => server.close(resolve)) }
  }
}

/** the shape of @libp2p/tcp's connection: a socket and sendData writing each buffer */
function fakeConn (socket: Socket): any {
  return {
    socket,
    sendData (data: Uint8Array[]) {
      let sentBytes = 0
      let canSendMore = true
      for (const b of data) { sentBytes += b.byteLength; canSendMore = socket.write(b) }
      return { sentBytes, canSendMore }
    }
  }
}

function countWrites (socket: Socket): () => number {
  let n = 0
  const s = socket as any
  const write = s._write.bind(s)
  const writev = s._writev.bind(s)
  s._write = (...args: any[]) => { n++; return write(...args) }
  s._writev = (...args: any[]) => { n++; return writev(...args) }
  return () => n
}

test('three sends in one tick are one socket write, in order', async () => {
  const p = await pair()
  try {
    const writes = countWrites(p.client)
    const conn = coalesceWrites(fakeConn(p.client)) as any
    const r1 = conn.sendData([Buffer.from('ab'), Buffer.from('cd')])
    conn.sendData([Buffer.from('ef')])
    conn.sendData([Buffer.from('gh')])
    assert.equal(r1.sentBytes, 4)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.is(writes(), 1)
    assert.is(p.received().toString(), 'abcdefgh')
    // the next tick starts a new write
    conn.sendData([Buffer.from('ij')])
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.is(writes(), 2)
    assert.is(p.received().toString(), 'abcdefghij')
  } finally {
    await p.close()
  }
})

test('a connection without a corkable socket is returned unchanged', () => {
  const conn = { sendData: () => ({ sentBytes: 0, canSendMore: true }) } as any
  const send = conn.sendData
  assert.is(coalesceWrites(conn), conn)
  assert.is(conn.sendData, send)
})

test('sending on a destroyed socket does not cork it', async () => {
  const p = await pair()
  const conn = coalesceWrites(fakeConn(p.client)) as any
  p.client.destroy()
  p.client.on('error', () => {})
  assert.not.throws(() => conn.sendData([Buffer.from('x')]))
  assert.is((p.client as any).writableCorked, 0)
  await p.close()
})

test.run()
