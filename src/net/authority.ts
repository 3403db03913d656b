// Who may do what on a direct stream is decided by the remote peer ID that noise authenticated
// (connection.remotePeer). A souk key is both the peer ID and the message signer, so "the remote
// peer is the lease's tenant" is a comparison of public keys.
import type { PeerId } from '@libp2p/interface'
import { publicKeyOfPeerId } from '../identity/index.ts'

/** true when `peer` is the peer ID of the ed25519 public key `key` */
export function peerIsKey (peer: PeerId | string, key: Uint8Array): boolean {
  const pk = publicKeyOfPeerId(peer)
  return pk != null && pk.length === key.length && Buffer.compare(pk, key) === 0
}

export function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

/** A handler's answer: go ahead, or refuse with a code from the protocol's table and a reason. */
export type Decision = { ok: true } | { ok: false, code: string, reason: string }

export const accept = (): Decision => ({ ok: true })
export const refuse = (code: string, reason: string): Decision => ({ ok: false, code, reason })
