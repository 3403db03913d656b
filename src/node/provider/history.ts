// Each lease's lifecycle as the tenant reads it (`souk lease events`): the steps of the lease
// machinery, and the engine's own events (exits, OOM kills, restarts) while the lease runs.
import { leaseHistory } from '../../market/index.ts'
import type { HistoryEntry, LeaseHistory } from '../../market/index.ts'
import type { ContainerRuntime } from '../../runtime/index.ts'
import type { Manifest } from '../../sdl/index.ts'
import type { Store } from '../../store/index.ts'
import { errorMessage } from '../../util/index.ts'
import { records } from '../records.ts'
import type { Logger } from '../logger.ts'
import { ENGINE_WATCH_RETRY_MS, RECORD_HISTORY } from './constants.ts'
import type { LifecycleEvent } from './lifecycle-events.ts'

/** engine events worth keeping in a lease's history, under the history's names */
const ENGINE_EVENTS: Record<string, string> = { start: 'replica:started', die: 'replica:exited', oom: 'replica:oom', restart: 'replica:restarted', kill: 'replica:killed' }

const services = (m: Manifest | undefined): string => (m?.groups ?? []).flatMap((g) => g.services.map((x) => `${x.name} (${x.image}) ×${x.count}`)).join(', ')

/** a lifecycle event as a history entry (undefined: not kept) */
export function historyEntry (evt: LifecycleEvent): Omit<HistoryEntry, 'time'> | undefined {
  switch (evt.type) {
    case 'lease:won': return { type: evt.type, message: 'the committee made the lease final with this provider' }
    case 'manifest:accepted': return { type: 'manifest:received', message: `manifest 0: ${services(evt.manifest)}` }
    case 'manifest:update-accepted': return { type: 'manifest:received', message: `manifest ${evt.sequence} (update): ${services(evt.manifest)}` }
    case 'runtime:step':
      switch (evt.step) {
        case 'image:pull': return { type: 'image:pull', message: evt.name }
        case 'replica:create': return { type: 'replica:created', replica: evt.name }
        case 'replica:start': return { type: 'replica:started', replica: evt.name }
        case 'network:create': return { type: 'network:created', message: evt.name }
        case 'namespace:create': return { type: 'namespace:created', message: evt.name }
        case 'workload:create': return { type: 'workload:created', message: evt.name }
      }
      return undefined
    case 'lease:redeploying': return { type: evt.type, message: evt.reason }
    case 'lease:running': return { type: evt.type, message: evt.services.map((x) => `${x.name} ${x.ready}/${x.count}`).join(', ') }
    case 'lease:updated': return { type: evt.type, message: `manifest ${evt.sequence} running` }
    case 'lease:update-failed': return { type: evt.type, message: `manifest ${evt.sequence} failed, the previous one keeps running: ${evt.error}` }
    case 'lease:deploy-failed': return { type: evt.type, message: evt.error }
    case 'lease:closed': return { type: evt.type, message: evt.reason }
  }
}

/** the history kept in the node's store, so `souk lease events` survives a restart */
export function storedHistory (store: Store): LeaseHistory {
  const saved = records<HistoryEntry[]>(store, RECORD_HISTORY)
  return leaseHistory()({ store: { get: (id) => saved.get(id), put: (id, e) => { saved.put(id, e) } } })
}

export interface EngineWatch {
  onLifecycle: (evt: LifecycleEvent) => void
  watch: (leaseId: string) => void
  stop: () => void
}

/** the engine's events of running leases, into their history */
export function engineWatch (components: { runtime: ContainerRuntime, history: LeaseHistory, logger: Logger }): EngineWatch {
  const { runtime, history, logger } = components
  const watchers = new Map<string, AbortController>()
  /** leases rolling out an update: their starts are recorded from the rollout itself */
  const updating = new Set<string>()

  function watch (leaseId: string): void {
    if (watchers.has(leaseId)) return
    const ac = new AbortController()
    watchers.set(leaseId, ac)
    void (async () => {
      while (!ac.signal.aborted) {
        try {
          for await (const e of runtime.events(leaseId, { signal: ac.signal })) {
            const type = ENGINE_EVENTS[e.type] ?? (runtime.name === 'kubernetes' ? `runtime:${e.type}` : undefined)
            if (type == null || (type === 'replica:started' && updating.has(leaseId))) continue
            history.record(leaseId, { type, time: e.time > 0 ? e.time : undefined, service: e.service, replica: e.replica, message: e.type === 'oom' ? 'out of memory: the kernel killed the process' : e.message })
          }
        } catch (err) {
          logger.debug({ lease: leaseId.slice(0, 12), err: errorMessage(err) }, 'engine events stopped; watching again')
        }
        await new Promise((resolve) => setTimeout(resolve, ENGINE_WATCH_RETRY_MS).unref())
      }
    })()
  }
  function unwatch (leaseId: string): void {
    watchers.get(leaseId)?.abort()
    watchers.delete(leaseId)
  }

  return {
    watch,
    onLifecycle (evt) {
      switch (evt.type) {
        case 'manifest:update-accepted': updating.add(evt.leaseId); break
        case 'lease:updated': case 'lease:update-failed': updating.delete(evt.leaseId); break
        case 'lease:running': watch(evt.leaseId); break
        case 'lease:closed': unwatch(evt.leaseId); break
      }
    },
    stop () { for (const id of [...watchers.keys()]) unwatch(id) }
  }
}
