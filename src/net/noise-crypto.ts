// Noise's ChaCha20-Poly1305 through libsodium. @chainsafe/libp2p-noise encrypts frames under
// 1,200 bytes with a WebAssembly build and larger ones with OpenSSL; gossip is mostly small
// frames, and libsodium seals and opens a bid-sized one about four times faster (npm run
// bench:crypto, noise_seal_per_s against noise_seal_default_per_s). The
// bytes on the wire are the same: both are RFC 8439 with the same nonce and associated data.
// Everything else (SHA-256, X25519) stays with noise's default.
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { sodium } from '../identity/index.ts'

const TAG_BYTES = 16

// a Uint8ArrayList (of noise's own copy of the package) is joined into one buffer
const flat = (b: Uint8Array | { subarray: () => Uint8Array }): Uint8Array => b instanceof Uint8Array ? b : b.subarray()

/** noise's crypto with libsodium's AEAD when the addon loads; noise's default otherwise */
export function noiseCrypto (): ICryptoInterface {
  const s = sodium()
  if (s == null) return defaultCrypto
  return {
    ...defaultCrypto,
    chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
      const m = flat(plaintext)
      const out = Buffer.allocUnsafe(m.byteLength + TAG_BYTES)
      s.crypto_aead_chacha20poly1305_ietf_encrypt(out, m, ad, null, nonce, k)
      return out
    },
    chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
      const c = flat(ciphertext)
      if (c.byteLength < TAG_BYTES) throw new Error('Invalid chacha20poly1305 decryption')
      // noise hands in the ciphertext's own bytes as dst: libsodium checks the tag before it
      // decrypts and writes each byte after reading it, so decrypting in place is safe (a bad
      // tag zeroes dst, and noise closes the connection)
      const out = dst != null && dst.byteLength === c.byteLength - TAG_BYTES ? dst : Buffer.allocUnsafe(c.byteLength - TAG_BYTES)
      try {
        s.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, c, ad, nonce, k)
      } catch {
        throw new Error('Invalid chacha20poly1305 decryption')
      }
      return out
    }
  }
}
