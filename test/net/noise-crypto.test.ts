// Noise with libsodium's ChaCha20-Poly1305: the same bytes as noise's default crypto in both
// directions, tampering refused, in-place decryption, and a souk node talking to a stock libp2p
// node (noise's own crypto) with frames below, across and above the sizes where noise switches
// implementations.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { yamux } from '@chainsafe/libp2p-yamux'
import { Uint8ArrayList } from 'uint8arraylist'
import { multiaddr } from '@multiformats/multiaddr'
import { noiseCrypto } from '../../src/net/noise-crypto.ts'
import { startNode } from './helpers.ts'

const SIZES = [0, 1, 100, 1199, 1200, 1201, 4096, 65519]
const sodiumCrypto = noiseCrypto()

test('the libsodium AEAD is in use and matches noise\'s default byte for byte', () => {
  const sodiumOff = (process.env.SOUK_NO_SODIUM ?? '') !== '' && process.env.SOUK_NO_SODIUM !== '0'
  assert.is(sodiumCrypto === defaultCrypto, sodiumOff)
  for (const size of SIZES) {
    const k = randomBytes(32); const n = randomBytes(12); const ad = randomBytes(size % 3 === 0 ? 0 : 32); const m = randomBytes(size)
    const ours = Buffer.from(sodiumCrypto.chaCha20Poly1305Encrypt(m, n, ad, k).subarray())
    const theirs = Buffer.from(defaultCrypto.chaCha20Poly1305Encrypt(m, n, ad, k).subarray())
    assert.ok(ours.equals(theirs), `ciphertext of ${size} bytes`)
    assert.ok(Buffer.from(sodiumCrypto.chaCha20Poly1305Decrypt(theirs, n, ad, k, undefined).subarray()).equals(m))
    assert.ok(Buffer.from(defaultCrypto.chaCha20Poly1305Decrypt(ours, n, ad, k, undefined).subarray()).equals(m))
    // a list of chunks, as noise passes a multi-part frame
    const list = new Uint8ArrayList(m.subarray(0, size >> 1), m.subarray(size >> 1))
    assert.ok(Buffer.from(sodiumCrypto.chaCha20Poly1305Encrypt(list as any, n, ad, k).subarray()).equals(theirs))
  }
})

test('in-place decryption into the ciphertext\'s own bytes, as noise does it', () => {
  const k = randomBytes(32); const n = randomBytes(12); const ad = new Uint8Array(0); const m = randomBytes(700)
  const c = Buffer.from(defaultCrypto.chaCha20Poly1305Encrypt(m, n, ad, k).subarray())
  const dst = c.subarray(0, c.length - 16)
  const out = sodiumCrypto.chaCha20Poly1305Decrypt(c, n, ad, k, dst)
  assert.ok(Buffer.from(out.subarray()).equals(m))
})

test('a changed byte, nonce, key or associated data is refused', () => {
  const k = randomBytes(32); const n = randomBytes(12); const ad = randomBytes(32); const m = randomBytes(300)
  const c = Buffer.from(sodiumCrypto.chaCha20Poly1305Encrypt(m, n, ad, k).subarray())
  const flipped = Buffer.from(c); flipped[10] ^= 1
  const refuse = (f: () => unknown, what: string): void => { assert.throws(f, /Invalid chacha20poly1305 decryption/, what) }
  refuse(() => sodiumCrypto.chaCha20Poly1305Decrypt(flipped, n, ad, k, undefined), 'a flipped byte')
  refuse(() => sodiumCrypto.chaCha20Poly1305Decrypt(c, randomBytes(12), ad, k, undefined), 'another nonce')
  refuse(() => sodiumCrypto.chaCha20Poly1305Decrypt(c, n, ad, randomBytes(32), undefined), 'another key')
  refuse(() => sodiumCrypto.chaCha20Poly1305Decrypt(c, n, randomBytes(32), k, undefined), 'other associated data')
  refuse(() => sodiumCrypto.chaCha20Poly1305Decrypt(c.subarray(0, 10), n, ad, k, undefined), 'shorter than a tag')
  refuse(() => sodiumCrypto.chaCha20Poly1305Decrypt(flipped, n, ad, k, flipped.subarray(0, flipped.length - 16)), 'in place')
})

test('a souk node and a stock libp2p node exchange frames of every size', async () => {
  const PROTOCOL = '/souk-test/echo/1.0.0'
  const stock = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
  const souk = await startNode()
  try {
    await stock.handle(PROTOCOL, (stream) => {
      stream.addEventListener('message', (e: any) => { stream.send(e.data.subarray()) })
      stream.addEventListener('remoteCloseWrite', () => { void stream.close() })
    })
    const stream = await souk.libp2p.dialProtocol(multiaddr(stock.getMultiaddrs()[0].toString()), PROTOCOL)
    const sent = Buffer.concat(SIZES.concat([200_000]).map((s) => randomBytes(s)))
    const got: Buffer[] = []
    let total = 0
    const all = new Promise<void>((resolve) => {
      stream.addEventListener('message', (e: any) => { const b = Buffer.from(e.data.subarray()); got.push(b); total += b.length; if (total >= sent.length) resolve() })
    })
    for (let i = 0; i < sent.length; i += 70_000) {
      if (!stream.send(sent.subarray(i, i + 70_000))) await stream.onDrain()
    }
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 10_000).unref())])
    assert.ok(Buffer.concat(got).equals(sent), `echoed ${total} of ${sent.length} bytes`)
    stream.abort(new Error('done'))
  } finally {
    await souk.stop()
    await stock.stop()
  }
})

test.run()
