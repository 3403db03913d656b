// Measures the signed-envelope path on a typical Bid: signing (encode + sign), verifying with
// each ed25519 path (verify_native is the hot path: libsodium, or OpenSSL without its addon), and decoding without the signature. Each figure is operations per second
// on one core, over a fixed wall-clock budget per measurement.
import { signMessage, openMessage, MessageTag, encodeCbor } from '../src/wire/index.ts'
import { generateIdentity, verify, verifyOpenSSL, verifyNoble, fastVerifier } from '../src/identity/index.ts'
import { sampleBid } from '../test/helpers/messages.ts'
import { noiseCrypto } from '../src/net/noise-crypto.ts'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'

const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 1)

function rate (name: string, fn: (i: number) => void): number {
  for (let i = 0; i < 200; i++) fn(i) // warm up
  let n = 0
  const start = process.hrtime.bigint()
  const budget = BigInt(Math.round(seconds * 1e9))
  let elapsed = 0n
  while (elapsed < budget) {
    for (let j = 0; j < 100; j++) fn(n++)
    elapsed = process.hrtime.bigint() - start
  }
  const perS = Math.round(n / (Number(elapsed) / 1e9))
  process.stdout.write(`${name.padEnd(20)} ${perS.toLocaleString('en-US')} /s\n`)
  return perS
}

const provider = generateIdentity()
const orderId = new Uint8Array(32).fill(9)
const body = sampleBid(orderId)
const msgs = Array.from({ length: 256 }, (_, i) => signMessage(provider, MessageTag.BID, { ...body, expiresAt: body.expiresAt + i }))
process.stdout.write(`typical bid envelope: ${msgs[0].bytes.length} bytes\n`)

const sign = rate('sign', (i) => { signMessage(provider, MessageTag.BID, { ...body, expiresAt: body.expiresAt + i }) })
// the hot path (libsodium where its addon loads), then OpenSSL and noble under the same rules
const native = rate(`verify ${fastVerifier()}`, (i) => { const m = msgs[i & 255]; if (!verify(m.sig, m.payload, m.signer)) throw new Error('verify failed') })
const openssl = rate('verify openssl', (i) => { const m = msgs[i & 255]; if (!verifyOpenSSL(m.sig, m.payload, m.signer)) throw new Error('verify failed') })
const noble = rate('verify noble', (i) => { const m = msgs[i & 255]; if (!verifyNoble(m.sig, m.payload, m.signer)) throw new Error('verify failed') })
// encode: the bid's payload and its envelope, everything but the signature itself
const m0 = msgs[0]
const encode = rate('encode', (i) => { encodeCbor([encodeCbor([MessageTag.BID, 1, m0.createdAt + i, m0.nonce, m0.body]), provider.publicKey, m0.sig]) })
const decode = rate('decode (no sig)', (i) => { openMessage(msgs[i & 255].bytes, { trusted: true }) })
rate('open (verify)', (i) => { openMessage(msgs[i & 255].bytes) })

// a noise frame the size of a gossiped bid, sealed and opened by souk's crypto (libsodium where
// its addon loads) and by noise's default (WebAssembly below 1,200 bytes)
const frame = new Uint8Array(m0.bytes.length + 40).fill(7)
const key = new Uint8Array(32).fill(3)
const nonce = new Uint8Array(12)
const noAd = new Uint8Array(0)
const ours = noiseCrypto()
const sealed = ours.chaCha20Poly1305Encrypt(frame, nonce, noAd, key).subarray()
const seal = rate('noise seal', () => { ours.chaCha20Poly1305Encrypt(frame, nonce, noAd, key) })
const open = rate('noise open', () => { ours.chaCha20Poly1305Decrypt(sealed, nonce, noAd, key, undefined) })
const sealDefault = rate('noise seal default', () => { defaultCrypto.chaCha20Poly1305Encrypt(frame, nonce, noAd, key) })
const openDefault = rate('noise open default', () => { defaultCrypto.chaCha20Poly1305Decrypt(sealed, nonce, noAd, key, undefined) })

process.stdout.write(`crypto sign_per_s=${sign} verify_native_per_s=${native} verify_openssl_per_s=${openssl} verify_noble_per_s=${noble} encode_per_s=${encode} decode_per_s=${decode} noise_seal_per_s=${seal} noise_open_per_s=${open} noise_seal_default_per_s=${sealDefault} noise_open_default_per_s=${openDefault}\n`)
