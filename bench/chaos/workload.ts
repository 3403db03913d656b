// A steady stream of deploys, updates and closes through the tenant's control API, as `souk
// deploy`, `souk lease update` and `souk lease close` send them. Outcomes are counted, not
// judged: a request cut by a crash fails here, and the invariants judge what the nodes hold after.
import { readFileSync } from 'node:fs'
import { controlClient } from '../../src/api/index.ts'
import { controlSocketPath } from '../../src/node/daemon.ts'
import type { DevnetNode } from '../../src/node/devnet.ts'
import type { Rng } from './rng.ts'

const WEB = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')

/** the example web service with its greeting changed: a new manifest with the same resources */
export function webSdl (greeting: string): string {
  return WEB.replace('GREETING=hello', `GREETING=${greeting}`)
}

export type OpKind = 'deploy' | 'update' | 'close'
export interface OpOutcome { kind: OpKind, ok: boolean, order?: string, error?: string, ms: number }

export interface WorkloadInit {
  tenant: DevnetNode
  rng: Rng
  /** leases kept running at most; above it the stream closes or updates */
  maxRunning?: number
  /** requests in flight at once */
  concurrency?: number
  bidWindowMs?: number
  onOutcome?: (o: OpOutcome) => void
}

export interface Workload {
  /** runs until paused; resolves when the requests in flight have ended */
  resume: () => void
  pause: () => Promise<void>
  readonly inFlight: number
  readonly counts: Record<OpKind, { ok: number, failed: number }>
  /** in-flight requests, by kind (what a crash may cut) */
  busy: (kind: OpKind) => boolean
}

export function workload (init: WorkloadInit): Workload {
  const c = controlClient({ socketPath: controlSocketPath(init.tenant.home), home: init.tenant.home })
  const maxRunning = init.maxRunning ?? 3
  const concurrency = init.concurrency ?? 2
  const counts: Record<OpKind, { ok: number, failed: number }> = { deploy: { ok: 0, failed: 0 }, update: { ok: 0, failed: 0 }, close: { ok: 0, failed: 0 } }
  const busyKinds = new Map<OpKind, number>()
  /** leases a request is working on: no two requests touch one */
  const touched = new Set<string>()
  let running = false
  let lanes: Array<Promise<void>> = []
  let seq = 0

  async function op (): Promise<OpOutcome> {
    let list: any[] = []
    try { list = (await c.get<any>('/v1/leases', { signal: AbortSignal.timeout(5_000) })).tenant } catch (err: any) {
      await new Promise((resolve) => setTimeout(resolve, 300))
      return { kind: 'deploy', ok: false, error: `tenant unreachable: ${String(err?.message ?? err)}`, ms: 0 }
    }
    const live = list.filter((d) => d.state === 'running' && !touched.has(d.order))
    const inflightDeploys = busyKinds.get('deploy') ?? 0
    let kind: OpKind
    if (live.length + inflightDeploys < maxRunning && init.rng.next() < 0.7) kind = 'deploy'
    else if (live.length === 0) kind = 'deploy'
    else kind = init.rng.next() < 0.5 ? 'update' : 'close'
    const t0 = Date.now()
    busyKinds.set(kind, (busyKinds.get(kind) ?? 0) + 1)
    let order: string | undefined
    try {
      if (kind === 'deploy') {
        for await (const line of c.stream<any>('POST', '/v1/deploy', { sdl: webSdl(`chaos-${++seq}`), bidWindowMs: init.bidWindowMs ?? 500 })) {
          if (line.event?.type === 'deploy:order-published') { order = line.event.detail.order; touched.add(order!) }
          if (line.error != null) throw Object.assign(new Error(line.error.message), { code: line.error.code })
        }
      } else {
        const d = init.rng.pick(live)
        order = d.order
        touched.add(d.order)
        if (kind === 'update') await c.post(`/v1/leases/${d.order}/update`, { sdl: webSdl(`chaos-${++seq}`) })
        else await c.post(`/v1/leases/${d.order}/close`, { reason: 'chaos workload' })
      }
      return { kind, ok: true, order, ms: Date.now() - t0 }
    } catch (err: any) {
      return { kind, ok: false, order, error: String(err?.message ?? err), ms: Date.now() - t0 }
    } finally {
      busyKinds.set(kind, (busyKinds.get(kind) ?? 1) - 1)
      if (order != null) touched.delete(order)
    }
  }

  async function lane (): Promise<void> {
    while (running) {
      const o = await op()
      if (o.ms > 0 || o.ok) {
        counts[o.kind][o.ok ? 'ok' : 'failed']++
        init.onOutcome?.(o)
      }
      // a breath between requests: a steady stream, not a flood; longer after a failure
      await new Promise((resolve) => setTimeout(resolve, (o.ok ? 200 : 1_500) + Math.floor(init.rng.next() * 400)))
    }
  }

  return {
    counts,
    get inFlight () { return [...busyKinds.values()].reduce((a, b) => a + b, 0) },
    busy: (kind) => (busyKinds.get(kind) ?? 0) > 0,
    resume () {
      if (running) return
      running = true
      lanes = Array.from({ length: concurrency }, async () => await lane())
    },
    async pause () {
      running = false
      await Promise.all(lanes)
      lanes = []
    }
  }
}
