// How others can reach this node, read from the addresses it announces. libp2p announces a
// public listen address only once AutoNAT has confirmed it from outside (or when it is configured
// as an announce address), and a relay address once a reservation holds, so the announced set
// says what a provider behind NAT needs to know.
import { multiaddr } from '@multiformats/multiaddr'
import { isPrivate } from '@libp2p/utils'

export type Reachability =
  /** a public address, confirmed by AutoNAT or configured */
  | 'public'
  /** no public address, but a relay slot: reachable through the relay */
  | 'relayed'
  /** private or loopback addresses only: reachable on this network, not from the internet */
  | 'private'
  /** nothing announced */
  | 'unreachable'

/** what each verdict means, for logs and `souk node status` */
export const REACHABILITY_TEXT: Record<Reachability, string> = {
  public: 'reachable from the internet (a public address, confirmed by AutoNAT or configured)',
  relayed: 'reachable through a relay only (no confirmed public address)',
  private: 'reachable on its own network only (private or loopback addresses; add a relay or an announce address)',
  unreachable: 'not reachable (no address announced)'
}

export function reachabilityOf (addrs: readonly string[]): Reachability {
  let relayed = false
  let any = false
  for (const a of addrs) {
    if (a.includes('/p2p-circuit')) { relayed = true; continue }
    let ma
    try { ma = multiaddr(a) } catch { continue }
    any = true
    let priv = true
    try { priv = isPrivate(ma) } catch {}
    if (!priv) return 'public'
  }
  if (relayed) return 'relayed'
  return any ? 'private' : 'unreachable'
}

/**
 * Why a peer whose announced addresses are `addrs` may have been impossible to dial, for an
 * error message; undefined when its addresses give no reason.
 */
export function unreachableHint (addrs: readonly string[]): string | undefined {
  switch (reachabilityOf(addrs)) {
    case 'unreachable': return 'this node knows no address for it'
    case 'private': return 'it announces private addresses only, so it may be behind NAT without a relay slot; its operator can set network.relayReserveOn or network.announce'
    default: return undefined
  }
}
