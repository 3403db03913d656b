// One failover trial on a devnet of real processes: deploy with failover through the tenant's
// control API, fetch the page, kill -9 the winning provider, and wait (bounded) until the tenant's
// node has closed the lost lease, ordered again and the page is served by the other provider.
// Used by test/e2e/failover.test.ts (one trial) and bench/failover.ts (timed trials).
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { devnetKill, readDevnet } from '../src/node/devnet.ts'
import { controlClient } from '../src/api/index.ts'
import { controlSocketPath } from '../src/node/daemon.ts'

const WEB = readFileSync(new URL('../examples/web.yaml', import.meta.url), 'utf8')
/** what examples/web.yaml serves */
const PAGE = 'hello from souk'
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** the tenant's failover settings for a trial: lost after 3 s of silence, asked every 0.5 s */
export const TRIAL_FAILOVER = '{ enabled: false, lostAfterMs: 3000, probeMs: 500, manifestTimeoutMs: 10000, maxFailovers: 3 }'

export interface TrialResult {
  order: string
  killed: { name: string, peerId: string }
  next: { order: string, provider: string, url: string }
  /** kill → the tenant's node declared the provider lost */
  detectMs: number
  /** kill → the page served again by the other provider */
  servedMs: number
  events: string[]
  deployment: any
}

async function serves (url: string, text: string, tries: number): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const page = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(async (r) => await r.text()).catch(() => '')
    if (page.includes(text)) return true
    await sleep(50)
  }
  return false
}

const hostUrl = (d: any): string | undefined => (d?.services?.[0]?.urls as string[] | undefined)?.find((u) => u.startsWith('http://127.0.0.1:'))

export async function failoverTrial (dir: string, greeting: string, opts: { bidWindowMs?: number, timeoutMs?: number, log?: (line: string) => void } = {}): Promise<TrialResult> {
  const log = opts.log ?? (() => {})
  const tenant = controlClient({ socketPath: controlSocketPath(join(dir, 'tenant')) })
  const events: string[] = []
  let result: any
  for await (const line of tenant.stream<any>('POST', '/v1/deploy', { sdl: WEB.replace('GREETING=hello', `GREETING=${greeting}`), bidWindowMs: opts.bidWindowMs ?? 1000, failover: true })) {
    if (line.event != null) events.push(line.event.type)
    if (line.error != null) throw new Error(`deploy: ${String(line.error.message)}`)
    if (line.result != null) result = line.result
  }
  const url = hostUrl(result)
  if (url == null || !await serves(url, PAGE, 100)) throw new Error(`the first lease never served its page (${url ?? 'no URL'})`)
  const state = await readDevnet(dir)
  const winner = state?.nodes.find((n) => n.peerId === result.provider)
  if (winner == null) throw new Error(`the winner ${String(result.provider)} is not a devnet node`)
  log(`lease ${String(result.order).slice(0, 12)} serves on ${winner.name}; kill -9`)
  const killAt = Date.now()
  await devnetKill(dir, winner.name, 'SIGKILL')
  const until = killAt + (opts.timeoutMs ?? 90_000)
  let detectMs: number | undefined
  let seen = ''
  for (;;) {
    if (Date.now() > until) throw new Error(`no failover within ${opts.timeoutMs ?? 90_000} ms of the kill (${detectMs != null ? `lost after ${detectMs} ms` : 'never declared lost'}); the tenant's deployments: ${seen}`)
    const list: any = await tenant.get('/v1/leases')
    seen = JSON.stringify(list.tenant.filter((d: any) => d.order === result.order || d.origin === result.order).map((d: any) => ({ order: d.order.slice(0, 12), state: d.state, provider: d.provider?.slice(-6), reason: d.reason, history: d.history })))
    const first = list.tenant.find((d: any) => d.order === result.order)
    const lost = (first?.history ?? []).find((s: any) => s.type === 'lost')
    if (lost != null && detectMs == null) { detectMs = lost.time - killAt; log(`declared lost after ${detectMs} ms`) }
    const next = first?.replacedBy != null ? list.tenant.find((d: any) => d.order === first.replacedBy) : undefined
    const nextUrl = hostUrl(next)
    if (next?.state === 'running' && nextUrl != null && await serves(nextUrl, PAGE, 1)) {
      const servedMs = Date.now() - killAt
      log(`serves again on ${String(next.provider)} ${servedMs} ms after the kill`)
      return { order: result.order, killed: { name: winner.name, peerId: winner.peerId }, next: { order: next.order, provider: next.provider, url: nextUrl }, detectMs: detectMs ?? servedMs, servedMs, events, deployment: first }
    }
    await sleep(50)
  }
}
