// Role discovery through the DHT: a provider or validator "provides" the CID of its role name,
// so any node that reaches the DHT (one bootstrap address is enough) can find them.
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { sha256 } from '../wire/index.ts'
import { ROLE_KEY_PREFIX } from './constants.ts'

const RAW_CODEC = 0x55
const SHA2_256 = 0x12

/** CIDv1 (raw, sha2-256) of `souk/1/role/<role>`: the DHT key under which a role is provided. */
export function roleCid (role: string): CID {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(role)) throw new TypeError(`role name ${JSON.stringify(role)} must be lowercase letters, digits or "-"`)
  return CID.createV1(RAW_CODEC, Digest.create(SHA2_256, sha256(new TextEncoder().encode(ROLE_KEY_PREFIX + role))))
}

export interface RolePeer {
  id: PeerId
  multiaddrs: Multiaddr[]
}

/** Announces that this node has `role`. The DHT re-provides it on its own schedule. */
export async function provideRole (libp2p: Libp2p, role: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  await libp2p.contentRouting.provide(roleCid(role), { signal: opts.signal })
}

export async function stopProvidingRole (libp2p: Libp2p, role: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
  await libp2p.contentRouting.cancelReprovide(roleCid(role), { signal: opts.signal })
}

/** Peers that provide `role`, deduplicated, up to `limit`; never this node itself. */
export async function findRole (libp2p: Libp2p, role: string, opts: { signal?: AbortSignal, limit?: number } = {}): Promise<RolePeer[]> {
  const limit = opts.limit ?? 20
  const seen = new Map<string, RolePeer>()
  for await (const p of libp2p.contentRouting.findProviders(roleCid(role), { signal: opts.signal })) {
    if (p.id.equals(libp2p.peerId)) continue
    const known = seen.get(p.id.toString())
    if (known != null) {
      for (const a of p.multiaddrs) if (!known.multiaddrs.some((m) => m.equals(a))) known.multiaddrs.push(a)
      continue
    }
    seen.set(p.id.toString(), { id: p.id, multiaddrs: [...p.multiaddrs] })
    if (seen.size >= limit) break
  }
  return [...seen.values()]
}
