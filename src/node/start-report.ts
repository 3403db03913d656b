// What a starting daemon tells its operator at the default log level, beyond "node started":
// every bootstrap address that failed and why (and when it is reached later), and a runtime that
// does not answer, GPUs it cannot attach, a disk nearly full — each with the fix.
import type { Souk } from './create-node.ts'
import type { Logger } from './logger.ts'
import { healthMonitor } from './health.ts'
import type { HealthInit, HealthReport } from './health.ts'

/** checks worth reporting the moment the node starts (peers and the committee need a while) */
const AT_START = new Set(['runtime', 'gpu', 'disk'])

export interface StartReport {
  /** the start-time checks, once they ran */
  checked: Promise<HealthReport>
  stop: () => void
}

export function reportAtStart (node: Souk, logger: Logger, init: HealthInit = {}): StartReport {
  const logState = (s: { state: string, address: string, reason?: string, message?: string }): void => {
    if (s.state === 'failed') logger.warn({ bootstrap: s.address, reason: s.reason }, s.message ?? 'bootstrap address failed')
    else if (s.state === 'connected') logger.info({ bootstrap: s.address }, 'bootstrap address reached')
  }
  for (const s of node.net.bootstrap.status()) if (s.state === 'failed') logState(s)
  const unsubscribe = node.net.bootstrap.onChange(logState)
  if (node.config.network.bootstrap.length === 0 && node.config.network.directPeers.length === 0 && !node.config.network.mdns) {
    logger.warn('no bootstrap addresses (network.bootstrap): this node waits for others to dial it')
  }
  const health = healthMonitor(node, { intervalMs: 0, ...init })
  const checked = health.check().then((r) => {
    for (const c of r.checks) {
      if (!AT_START.has(c.name) || c.status === 'ok' || c.status === 'skip') continue
      const line = { check: c.name, ...(c.fix != null ? { fix: c.fix } : {}) }
      if (c.status === 'fail') logger.error(line, c.detail)
      else logger.warn(line, c.detail)
    }
    return r
  }).finally(() => { health.stop() })
  return { checked, stop: unsubscribe }
}
