// Tells the operator how the node can be reached, and when that changes: AutoNAT confirming a
// public address, a relay slot being won or lost. A provider or validator that, after a grace
// period, can be reached from its own network only gets one warning naming the settings that fix
// it: behind NAT, that is the most common reason tenants never reach a provider.
import { reachabilityOf, REACHABILITY_TEXT } from '../net/index.ts'
import type { Reachability } from '../net/index.ts'
import type { Logger } from './logger.ts'

export interface ReachabilityWatchInit {
  /** roles that others must be able to dial (provider, validator) warn when they cannot be */
  mustBeReachable: boolean
  /** how long AutoNAT and relay reservations get before the warning, ms */
  graceMs?: number
}

export interface ReachabilityWatchComponents {
  /** the announced addresses now */
  addresses: () => string[]
  /** calls back when the announced addresses may have changed; returns an unsubscribe */
  onAddressChange: (fn: () => void) => () => void
  logger: Pick<Logger, 'info' | 'warn'>
}

export interface ReachabilityWatch {
  start: () => void
  stop: () => void
  readonly current: Reachability
}

export const REACHABILITY_GRACE_MS = 60_000

export function reachabilityWatch (init: ReachabilityWatchInit): (components: ReachabilityWatchComponents) => ReachabilityWatch {
  return ({ addresses, onAddressChange, logger }) => {
    let current: Reachability = reachabilityOf(addresses())
    let unsubscribe: (() => void) | undefined
    let timer: NodeJS.Timeout | undefined
    let warned = false

    const check = (): void => {
      const addrs = addresses()
      const next = reachabilityOf(addrs)
      if (next === current) return
      current = next
      logger.info({ reachability: next, addresses: addrs }, REACHABILITY_TEXT[next])
    }

    const warn = (): void => {
      if (warned || !init.mustBeReachable || current === 'public' || current === 'relayed') return
      warned = true
      logger.warn({ reachability: current, addresses: addresses() },
        'tenants outside this network cannot reach this node: no public address was confirmed and no relay slot is held; ' +
        'set network.announce to the public address (with a forwarded port) or network.relayReserveOn to a relay')
    }

    return {
      get current () { return current },
      start () {
        unsubscribe = onAddressChange(check)
        timer = setTimeout(() => { check(); warn() }, init.graceMs ?? REACHABILITY_GRACE_MS)
        timer.unref()
      },
      stop () {
        unsubscribe?.()
        if (timer != null) clearTimeout(timer)
      }
    }
  }
}
