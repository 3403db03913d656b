// A deploy the caller aborts leaves nothing behind, whenever the abort comes: before the order is
// published, during the auction, or after the lease is final. Four validators, a provider on the
// real Docker engine and a tenant, each a full node on loopback.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createNode } from '../../src/node/create-node.ts'
import type { Souk } from '../../src/node/create-node.ts'
import type { DeployProgressEvent } from '../../src/index.ts'
import { genesisCommitteeFile } from '../../src/committee/index.ts'
import { createLogger } from '../../src/node/logger.ts'
import type { SoukConfig, Role } from '../../src/config/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { dockerRuntime } from '../../src/runtime/index.ts'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { marketConfig, startValidators } from '../helpers/network.ts'

const docker = dockerFromEnv()
const root = mkdtempSync(join(tmpdir(), 'souk-abort-'))
const nodes: Souk[] = []
const web = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')

const cfg = (roles: Role[], bootstrap: string[]): SoukConfig => marketConfig(roles, bootstrap)

/** polls `check` until it holds, bounded; the last value it saw goes into the failure */
async function until (what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.unreachable(`${what} within ${ms} ms`)
}

if (docker == null) {
  skipNotice('test/node/deploy-abort.test.ts')
} else {
  const logger = createLogger({ level: 'error', destination: process.stderr })
  const validators = Array.from({ length: 4 }, () => generateIdentity())
  const committee = [genesisCommitteeFile(validators)]
  let tenant: Souk
  let provider: Souk
  let v0: Souk
  const instance = `souk-test-${randomBytes(4).toString('hex')}`
  /** containers of this test's provider that are running */
  const running = async (): Promise<number> => (await docker.listContainers({ filters: { label: [`souk.instance=${instance}`], status: ['running'] } })).length
  /** no open order and no active lease for `order`, on the tenant, the provider and a validator */
  const nothingLeft = (order: string): boolean => [tenant, provider, v0].every((n) =>
    n.book.openOrders(Date.now()).every((o) => o.idHex !== order) && n.book.lease(order)?.state !== 'active')

  test.before(async () => {
    const started = await startValidators({ root, identities: validators, committee, logger, config: cfg })
    nodes.push(...started.nodes)
    v0 = started.nodes[0]
    const runtime = dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance, pull: 'never' })({})
    provider = await createNode({ home: join(root, 'p'), config: cfg(['provider'], started.boot), committee, logger, runtime })
    nodes.push(provider)
    tenant = await createNode({ home: join(root, 't'), config: cfg(['tenant'], started.boot), committee, logger })
    nodes.push(tenant)
    await tenant.ready({ timeoutMs: 30_000 })
    for (let i = 0; i < 100 && (tenant.net.gossip.meshPeers('/souk/1/orders').length === 0 || provider.net.gossip.meshPeers('/souk/1/bids').length === 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })

  test.after(async () => {
    for (const n of nodes.reverse()) await n.stop().catch(() => {})
    rmSync(root, { recursive: true, force: true })
    for (const c of await docker.listContainers({ all: true, filters: { label: [`souk.instance=${instance}`] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {})
  })

  test('aborted before the order is published: the abort\'s reason, and nothing published or recorded', async () => {
    const reason = new Error('not now')
    const before = tenant.tenant!.list().length
    const err = await tenant.tenant!.deploy(web, { signal: AbortSignal.abort(reason) }).then(() => undefined, (e: unknown) => e)
    assert.is(err, reason)
    assert.is(tenant.tenant!.list().length, before, 'no deployment recorded')
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.is(provider.book.openOrders(Date.now()).length, 0, 'no order reached the provider')
  })

  test('aborted during the auction: the abort\'s reason; the deployment says it was cancelled, and a lease that still comes is closed', async () => {
    const reason = new Error('changed my mind')
    const ac = new AbortController()
    let order = ''
    const err = await tenant.tenant!.deploy(web, {
      signal: ac.signal,
      onProgress: (e: DeployProgressEvent) => { if (e.type === 'deploy:order-published') { order = e.detail.order; ac.abort(reason) } }
    }).then(() => undefined, (e: unknown) => e)
    assert.is(err, reason)
    const d = tenant.tenant!.list().find((x) => x.order === order)!
    assert.is(d.state, 'expired')
    assert.match(d.reason ?? '', /cancelled before the committee decided/)
    // the committee still decides after the bid window; whatever it decided, nothing stays open or active
    await until('the order decided and nothing left open or active', () => (v0.book.lease(order) != null || v0.book.expiry(order) != null) && nothingLeft(order))
    assert.is(await running(), 0, 'no container runs for it')
  })

  test('aborted after the lease is final: the abort\'s reason; the lease is closed at the committee and the provider, and no container runs', async () => {
    const reason = new Error('too slow')
    const ac = new AbortController()
    const steps: string[] = []
    let order = ''
    const err = await tenant.tenant!.deploy(web, {
      signal: ac.signal,
      onProgress: (e: DeployProgressEvent) => {
        steps.push(e.type)
        if (e.type === 'deploy:order-published') order = e.detail.order
        if (e.type === 'deploy:lease-final') ac.abort(reason)
      }
    }).then(() => undefined, (e: unknown) => e)
    assert.is(err, reason)
    assert.ok(steps.includes('deploy:closing'), `the close was reported: ${steps.join(',')}`)
    await until('the lease closed everywhere', () => v0.book.lease(order)?.state === 'closed' && nothingLeft(order))
    await until('the tenant\'s deployment closed', () => tenant.tenant!.list().find((x) => x.order === order)?.state === 'closed')
    assert.match(tenant.tenant!.list().find((x) => x.order === order)!.reason ?? '', /aborted after its lease was final/)
    await until('no container running', async () => await running() === 0)
  })

  test('aborted after the lease is final with onAbort: keep: the deployment goes on and says so', async () => {
    const reason = new Error('stop waiting')
    const ac = new AbortController()
    let order = ''
    let kept: DeployProgressEvent | undefined
    const err = await tenant.tenant!.deploy(web, {
      signal: ac.signal,
      onAbort: 'keep',
      onProgress: (e: DeployProgressEvent) => {
        if (e.type === 'deploy:order-published') order = e.detail.order
        if (e.type === 'deploy:kept') kept = e
        if (e.type === 'deploy:lease-final') ac.abort(reason)
      }
    }).then(() => undefined, (e: unknown) => e)
    assert.is(err, reason)
    assert.ok(kept != null, 'a deploy:kept event said the deployment goes on')
    await until('the kept deployment running', () => tenant.tenant!.list().find((x) => x.order === order)?.state === 'running', 60_000)
    assert.is(v0.book.lease(order)?.state, 'active')
    await tenant.tenant!.close(order, 'done')
    await until('the lease closed', () => v0.book.lease(order)?.state === 'closed')
  })
}

test.run()
