import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { keypairFromSeed, generateKeypair, PUBLIC_KEY_LENGTH } from './ed25519.ts'
import type { Ed25519Keypair } from './ed25519.ts'

/** One ed25519 key: the node's libp2p peer ID and its message signer. */
export interface Identity {
  readonly publicKey: Uint8Array
  readonly peerId: PeerId
  /** the libp2p form of the key, for createLibp2p({ privateKey }) */
  readonly privateKey: PrivateKey
  readonly seed: Uint8Array
  sign: (message: Uint8Array) => Uint8Array
}

export function identityFromKeypair (kp: Ed25519Keypair): Identity {
  const raw = new Uint8Array(64)
  raw.set(kp.seed, 0)
  raw.set(kp.publicKey, 32)
  const privateKey = privateKeyFromRaw(raw)
  return {
    publicKey: kp.publicKey,
    peerId: peerIdFromPrivateKey(privateKey),
    privateKey,
    seed: kp.seed,
    sign: kp.sign
  }
}

export function identityFromSeed (seed: Uint8Array): Identity {
  return identityFromKeypair(keypairFromSeed(seed))
}

export function generateIdentity (): Identity {
  return identityFromKeypair(generateKeypair())
}

/** The peer ID string (base58btc, `12D3KooW…`) of an ed25519 public key. */
export function peerIdOfPublicKey (publicKey: Uint8Array): string {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) throw new TypeError('ed25519 public key must be 32 bytes')
  // identity multihash of the protobuf-encoded key: 0x00 0x24 | 0x08 0x01 0x12 0x20 | key
  const mh = new Uint8Array(2 + 4 + 32)
  mh.set([0x00, 0x24, 0x08, 0x01, 0x12, 0x20], 0)
  mh.set(publicKey, 6)
  return base58btc(mh)
}

/** The ed25519 public key inside a peer ID string; undefined for other key types. */
export function publicKeyOfPeerId (peerId: string | PeerId): Uint8Array | undefined {
  try {
    const id = typeof peerId === 'string' ? peerIdFromString(peerId) : peerId
    if (id.type !== 'Ed25519') return undefined
    return id.publicKey.raw
  } catch {
    return undefined
  }
}

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
function base58btc (bytes: Uint8Array): string {
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  let out = ''
  while (n > 0n) { out = ALPHABET[Number(n % 58n)] + out; n /= 58n }
  for (const b of bytes) { if (b !== 0) break; out = '1' + out }
  return out
}
