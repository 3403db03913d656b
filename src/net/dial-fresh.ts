// A peer's stored addresses can be stale: a provider behind NAT whose relayed address came after
// a peer first heard of it, or whose relay slot moved. libp2p dials a peer ID at the addresses
// its peer store holds and, when it holds some, never asks the network. So when such a dial fails
// and the node has no connection to the peer, it asks the DHT once for the peer's current
// addresses, past its own peer store, and dials again if they name anything new.
import { isPeerId } from '@libp2p/interface'
import type { AbortOptions, Libp2p, Stream } from '@libp2p/interface'
import { FIND_PEER_AFTER_FAILED_DIAL_MS } from './constants.ts'

type DialTarget = Parameters<Libp2p['dialProtocol']>[0]
type DialProtocolOptions = NonNullable<Parameters<Libp2p['dialProtocol']>[2]>

/**
 * per node: peers whose lookup found nothing new, and until when none is asked again, so that
 * repeated dials to a peer that is gone (a tenant probing a lost provider) walk the DHT at most
 * once a FIND_PEER_AFTER_FAILED_DIAL_MS; bounded, oldest forgotten first
 */
const recentlyAsked = new WeakMap<Libp2p, Map<string, number>>()
const MAX_REMEMBERED = 1024

export async function dialProtocolFresh (libp2p: Libp2p, peer: DialTarget, protocol: string, options: DialProtocolOptions & AbortOptions = {}): Promise<Stream> {
  try {
    return await libp2p.dialProtocol(peer, protocol, options)
  } catch (err) {
    if (!isPeerId(peer) || options.signal?.aborted === true || libp2p.getConnections(peer).length > 0) throw err
    const known = new Set((await libp2p.peerStore.get(peer).catch(() => undefined))?.addresses.map((a) => a.multiaddr.toString()) ?? [])
    // with no address stored, libp2p asked the network itself already
    if (known.size === 0) throw err
    let asked = recentlyAsked.get(libp2p)
    if (asked == null) { asked = new Map(); recentlyAsked.set(libp2p, asked) }
    const key = peer.toString()
    if ((asked.get(key) ?? 0) > Date.now()) throw err
    asked.delete(key)
    if (asked.size >= MAX_REMEMBERED) asked.delete(asked.keys().next().value as string)
    asked.set(key, Date.now() + FIND_PEER_AFTER_FAILED_DIAL_MS)
    const signals = [AbortSignal.timeout(FIND_PEER_AFTER_FAILED_DIAL_MS), ...(options.signal != null ? [options.signal] : [])]
    const found = await libp2p.peerRouting.findPeer(peer, { signal: AbortSignal.any(signals), useCache: false }).catch(() => undefined)
    // libp2p merged what it found into the peer store: worth a second dial only if it is new
    if (found == null || !found.multiaddrs.some((a) => !known.has(a.toString()))) throw err
    return await libp2p.dialProtocol(peer, protocol, options)
  }
}
