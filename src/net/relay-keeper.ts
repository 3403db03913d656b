// Keeps a slot on each relay the operator configured (network.relayReserveOn). libp2p tries a
// configured relay once, when the node starts listening: if the relay cannot be reached within
// 5 s (a slow link, a relay still starting) or later drops the reservation (it restarted), the
// node stays without a relayed address until it is restarted, and a node behind NAT is then
// unreachable. The keeper leaves that first attempt to libp2p (its address is then in the node's
// first identify), then dials the relay itself with more patience and listens on it again
// whenever the node holds no address through it, backing off while the relay stays away.
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ComponentLogger, Logger, Startable } from '@libp2p/interface'
import { errorMessage } from '../util/index.ts'

export interface RelayKeeperInit {
  /** relay addresses, each ending /p2p/<relay peer ID> */
  relays: readonly string[]
  /** how often the node's addresses are looked at (default 2 s) */
  checkMs?: number
  /** the first wait after a failed attempt; doubles up to maxBackoffMs (default 2 s) */
  backoffMs?: number
  /** the longest wait while the relay cannot be reached (default 60 s) */
  maxBackoffMs?: number
  /**
   * the longest wait while the relay is reached but refuses a slot (default 10 min): each such
   * attempt leaves libp2p an idle listener, so a relay that keeps refusing is asked seldom
   */
  maxRefusedBackoffMs?: number
  /** how long one dial to the relay may take (default 20 s: round trips over a lossy link) */
  dialTimeoutMs?: number
  /**
   * how long the keeper waits for libp2p to make the reservation once connected (default 30 s);
   * past it the attempt counts as refused, so a reservation that never answers cannot stop the
   * keeper from trying again
   */
  reserveTimeoutMs?: number
  /** called on each attempt's outcome (logs, metrics, tests) */
  onAttempt?: (e: RelayAttempt) => void
}

export interface RelayAttempt { relay: string, ok: boolean, error?: string, attempt: number }

/** the parts of libp2p's components the keeper uses */
export interface RelayKeeperComponents {
  transportManager: { listen: (addrs: Multiaddr[]) => Promise<void>, getAddrs: () => Multiaddr[] }
  connectionManager: { openConnection: (addr: Multiaddr, options?: { signal?: AbortSignal }) => Promise<unknown> }
  logger: ComponentLogger
}

export interface RelayKeeper extends Startable {
  /** per relay: whether the node holds an address through it now */
  status: () => Array<{ relay: string, reserved: boolean, attempts: number, retryInMs: number }>
}

/** `failures`: dials in a row that failed; `refusals`: reservations in a row the reached relay refused */
interface RelayState { addr: string, peer: string, attempts: number, failures: number, refusals: number, nextAt: number, busy: boolean }

export function relayKeeper (init: RelayKeeperInit): (components: RelayKeeperComponents) => RelayKeeper {
  return (components) => {
    const log: Logger = components.logger.forComponent('souk:relay-keeper')
    const checkMs = init.checkMs ?? 2_000
    const backoffMs = init.backoffMs ?? 2_000
    const maxBackoffMs = init.maxBackoffMs ?? 60_000
    const maxRefusedBackoffMs = init.maxRefusedBackoffMs ?? 600_000
    const dialTimeoutMs = init.dialTimeoutMs ?? 20_000
    const reserveTimeoutMs = init.reserveTimeoutMs ?? 30_000
    const relays: RelayState[] = init.relays.map((addr) => {
      const peer = multiaddr(addr).getComponents().findLast((c) => c.name === 'p2p')?.value
      if (peer == null) throw new Error(`relay address ${addr} names no peer (/p2p/…)`)
      return { addr, peer, attempts: 0, failures: 0, refusals: 0, nextAt: 0, busy: false }
    })
    let timer: NodeJS.Timeout | undefined
    let running = false
    const stopping = new AbortController()

    // an address through the relay: …/p2p/<relay>/p2p-circuit
    const reserved = (r: RelayState): boolean => components.transportManager.getAddrs().some((a) => a.toString().includes(`/p2p/${r.peer}/p2p-circuit`))

    const attempt = async (r: RelayState): Promise<void> => {
      r.busy = true
      r.attempts++
      let error: string | undefined
      let refused = false
      try {
        const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(dialTimeoutMs)])
        await components.connectionManager.openConnection(multiaddr(r.addr), { signal })
        // with the connection open, libp2p's listener only has to make the reservation; a
        // failure there is logged by libp2p and shows as no address through the relay
        let timer: NodeJS.Timeout | undefined
        const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), reserveTimeoutMs) })
        const outcome = await Promise.race([components.transportManager.listen([multiaddr(`${r.addr}/p2p-circuit`)]), late])
        clearTimeout(timer)
        if (!reserved(r)) {
          refused = true
          error = outcome === 'late' ? `the relay did not answer the reservation in ${reserveTimeoutMs} ms` : 'the relay refused or did not answer the reservation'
        }
      } catch (err) {
        error = errorMessage(err)
      } finally {
        r.busy = false
      }
      if (!running) return
      if (error == null) {
        r.failures = 0
        r.refusals = 0
        log('slot held on relay %s', r.addr)
      } else {
        // the two back off separately: a relay that comes back after being down a while and refuses
        // once while it starts must not wait as long as the failed dials before it added up to
        if (refused) { r.refusals++; r.failures = 0 } else r.failures++
        const n = refused ? r.refusals : r.failures
        const wait = Math.min(refused ? maxRefusedBackoffMs : maxBackoffMs, backoffMs * 2 ** Math.min(n - 1, 16))
        r.nextAt = Date.now() + wait
        log.error('no slot on relay %s (attempt %d): %s; trying again in %d ms', r.addr, r.attempts, error, wait)
      }
      init.onAttempt?.({ relay: r.addr, ok: error == null, error, attempt: r.attempts })
    }

    const check = (): void => {
      for (const r of relays) {
        if (r.busy || reserved(r) || Date.now() < r.nextAt) continue
        void attempt(r)
      }
    }

    return {
      [Symbol.toStringTag]: 'souk/relay-keeper',
      start: () => { running = true },
      afterStart: () => {
        check()
        timer = setInterval(check, checkMs)
        timer.unref?.()
      },
      stop: () => {
        running = false
        stopping.abort()
        if (timer != null) clearInterval(timer)
      },
      status: () => relays.map((r) => ({ relay: r.addr, reserved: reserved(r), attempts: r.attempts, retryInMs: Math.max(0, r.nextAt - Date.now()) }))
    }
  }
}
