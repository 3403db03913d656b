// libsodium through sodium-native's prebuilt addon: ed25519 verification about twice as fast as
// OpenSSL's here, and ChaCha20-Poly1305 several times faster than the WebAssembly build noise
// uses for small frames. Optional: where the addon cannot load (a platform without a prebuild),
// callers fall back to OpenSSL and the answers stay the same (protocols/wire.md §2.1).
import { createRequire } from 'node:module'

/** The part of sodium-native souk uses. */
export interface Sodium {
  crypto_sign_verify_detached: (sig: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean
  crypto_core_ed25519_is_valid_point: (point: Uint8Array) => boolean
  crypto_aead_chacha20poly1305_ietf_encrypt: (out: Uint8Array, message: Uint8Array, ad: Uint8Array | null, nsec: null, nonce: Uint8Array, key: Uint8Array) => number
  crypto_aead_chacha20poly1305_ietf_decrypt: (out: Uint8Array, nsec: null, ciphertext: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array) => number
  crypto_aead_chacha20poly1305_ietf_ABYTES: number
}

let loaded: Sodium | null | undefined

/**
 * libsodium, or undefined when the addon is missing or SOUK_NO_SODIUM is set (which runs the
 * OpenSSL and WebAssembly paths instead, e.g. to compare them).
 */
export function sodium (): Sodium | undefined {
  if (loaded === undefined) {
    loaded = null
    if (process.env.SOUK_NO_SODIUM == null || process.env.SOUK_NO_SODIUM === '' || process.env.SOUK_NO_SODIUM === '0') {
      try {
        const s = createRequire(import.meta.url)('sodium-native') as Sodium
        if (typeof s.crypto_sign_verify_detached === 'function' && typeof s.crypto_core_ed25519_is_valid_point === 'function') loaded = s
      } catch {}
    }
  }
  return loaded ?? undefined
}
