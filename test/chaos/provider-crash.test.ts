// A provider killed at any point of a lease's life comes back to the same lease: a deploy cut
// short is made again, an update cut short rolled out again with one generation per replica, a
// close cut short finished, and a Close its tenant sent while it was down learned when it
// returns. Each case is a chaos trial on real processes and a real Docker engine, checked
// against every chaos invariant, plus what the case is about. The devnet runs on loopback: these
// faults are kills, not partitions.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { Chaos } from '../../bench/chaos/harness.ts'
import type { TrialPlan } from '../../bench/chaos/harness.ts'
import { webSdl } from '../../bench/chaos/workload.ts'
import { providerView, dockerObjects } from '../../bench/chaos/world.ts'
import { controlClient } from '../../src/api/index.ts'
import { controlSocketPath } from '../../src/node/daemon.ts'
import { LABEL_GENERATION } from '../../src/runtime/index.ts'

const docker = dockerFromEnv()
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

if (docker == null) {
  skipNotice('test/chaos/provider-crash.test.ts')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'souk-chaos-provider-'))
  const log: string[] = []
  let chaos: Chaos | undefined
  const c = (): Chaos => chaos!
  const tenant = (): ReturnType<typeof controlClient> => controlClient({ socketPath: controlSocketPath(c().node('tenant').home) })
  async function deploy (): Promise<string> {
    let order = ''
    for await (const line of tenant().stream<any>('POST', '/v1/deploy', { sdl: webSdl(`crash-${Date.now()}`), bidWindowMs: 500 })) {
      if (line.event?.type === 'deploy:order-published') order = line.event.detail.order
      if (line.error != null) throw Object.assign(new Error(line.error.message), { order })
    }
    return order
  }
  async function trialClean (plan: TrialPlan, drive: () => Promise<unknown>): Promise<void> {
    const r = await c().trial(plan, drive)
    assert.equal(r.violations.map((v) => `${v.counter} ${v.rule} ${v.subject}: ${v.detail}`), [], `${r.notes.join('\n')}\n${log.slice(-30).join('\n')}`)
    assert.not.equal(r.died, 'fallback', `the fault never came: ${r.notes.join('\n')}`)
  }
  /** the provider's view of a lease, and the lease's containers */
  async function providerSide (order: string): Promise<{ state?: string, containers: Array<{ running?: boolean, generation?: string }> }> {
    const p = c().node('provider-0')
    const view = await providerView(p)
    const objs = await dockerObjects(c().docker, [p.owner!])
    return { state: view.leases.find((l) => l.lease === order)?.state, containers: objs.filter((x) => x.kind === 'container' && x.lease === order) }
  }
  const tenantState = async (order: string): Promise<string | undefined> => {
    const r = await tenant().get<any>('/v1/leases')
    return r.tenant.find((d: any) => d.order === order)?.state
  }

  test.before(async () => { chaos = await Chaos.start({ dir: join(dir, 'devnet'), seed: 29, providers: 1, netns: false, settleMs: 20_000, log: (l) => { log.push(l) } }) })
  test.after(async () => { await chaos?.stop(); rmSync(dir, { recursive: true, force: true }) })

  test('a provider killed while it starts a lease\'s containers deploys them again when it returns', async () => {
    let order = ''
    await trialClean({ kind: 'kill', victim: 'provider-0', fault: { type: 'point', point: 'node_records/provider-lease/deploying:1:+300' }, downMs: 500 }, async () => {
      order = await deploy().catch((err: any) => String(err?.order ?? ''))
    })
    assert.ok(order !== '', 'the order went out')
    const p = await providerSide(order)
    assert.is(p.state, 'running')
    assert.equal(p.containers.map((x) => x.running), [true])
  })

  test('a provider killed during an update\'s rollout rolls it out again: one generation serves the replica', async () => {
    const order = await deploy()
    await trialClean({ kind: 'kill', victim: 'provider-0', fault: { type: 'docker', event: 'rollout', delayMs: 50 }, downMs: 500 }, async () => {
      await tenant().post(`/v1/leases/${order}/update`, { sdl: webSdl(`crash-update-${Date.now()}`) }).catch(() => {})
    })
    const p = await providerSide(order)
    assert.is(p.state, 'running')
    assert.is(p.containers.length, 1, `one container, not ${p.containers.map((x) => `generation ${x.generation ?? '?'}`).join(', ')}`)
    assert.ok(Number(p.containers[0].generation) >= 2, `the update's manifest runs (generation ${p.containers[0].generation ?? '?'}, label ${LABEL_GENERATION})`)
  })

  test('a provider killed while it removes a closed lease\'s containers finishes the close when it returns', async () => {
    const order = await deploy()
    await trialClean({ kind: 'kill', victim: 'provider-0', fault: { type: 'docker', event: 'close', delayMs: 0 }, downMs: 500 }, async () => {
      await tenant().post(`/v1/leases/${order}/close`, { reason: 'crash test' }).catch(() => {})
    })
    const p = await providerSide(order)
    assert.is(p.state, 'closed')
    assert.equal(p.containers, [])
  })

  test('a lease closed by its tenant while the provider is down is closed when the provider returns', async () => {
    const order = await deploy()
    await trialClean({ kind: 'kill', victim: 'provider-0', fault: { type: 'timed', afterMs: 10 }, downMs: 4_000 }, async () => {
      await sleep(1_000)
      await tenant().post(`/v1/leases/${order}/close`, { reason: 'crash test' }).catch(() => {})
    })
    assert.is(await tenantState(order), 'closed')
    const p = await providerSide(order)
    assert.is(p.state, 'closed')
    assert.equal(p.containers, [])
  })

  test.run()
}
