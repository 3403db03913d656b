// Four validators, a provider on the real Docker engine and a tenant, each a full node on
// loopback: a deployment file goes from order to a page served through the reported URL.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createNode } from '../../src/node/create-node.ts'
import type { Souk } from '../../src/node/create-node.ts'
import { genesisCommitteeFile } from '../../src/committee/index.ts'
import { createLogger } from '../../src/node/logger.ts'
import type { SoukConfig, Role } from '../../src/config/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { dockerRuntime, LABEL_LEASE } from '../../src/runtime/index.ts'
import { DeployError } from '../../src/node/errors.ts'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { marketConfig, startValidators } from '../helpers/network.ts'

const docker = dockerFromEnv()
const root = mkdtempSync(join(tmpdir(), 'souk-market-'))
const nodes: Souk[] = []
const web = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')

function cfg (roles: Role[], bootstrap: string[]): SoukConfig {
  const c = marketConfig(roles, bootstrap)
  c.provider.usageIntervalMs = 300
  return c
}

if (docker == null) {
  skipNotice('test/node/marketplace.test.ts')
} else {
  const logger = createLogger({ level: 'warn', destination: process.stderr })
  const validators = Array.from({ length: 4 }, () => generateIdentity())
  const committee = [genesisCommitteeFile(validators)]
  let tenant: Souk
  let provider: Souk
  let boot: string[] = []
  const instance = `souk-test-${randomBytes(4).toString('hex')}`

  test.before(async () => {
    const started = await startValidators({ root, identities: validators, committee, logger, config: cfg })
    nodes.push(...started.nodes)
    boot = started.boot
    const runtime = dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance, pull: 'never' })({})
    provider = await createNode({ home: join(root, 'p'), config: cfg(['provider'], boot), committee, logger, runtime })
    nodes.push(provider)
    tenant = await createNode({ home: join(root, 't'), config: cfg(['tenant'], boot), committee, logger })
    nodes.push(tenant)
    // let gossip meshes form before the first order
    for (let i = 0; i < 100 && (tenant.net.gossip.meshPeers('/souk/1/orders').length === 0 || provider.net.gossip.meshPeers('/souk/1/bids').length === 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })

  test.after(async () => {
    for (const n of nodes.reverse()) await n.stop().catch(() => {})
    rmSync(root, { recursive: true, force: true })
    // whatever a failed test left running
    for (const c of await docker.listContainers({ all: true, filters: { label: [`souk.instance=${instance}`] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {})
  })

  test('a deployment file becomes a served page: order, bid, final lease, manifest, running', async () => {
    const steps: string[] = []
    const d = await tenant.tenant!.deploy(web, { onProgress: (e) => steps.push(e.type) })
    assert.is(d.state, 'running')
    assert.equal(steps.filter((s) => s !== 'deploy:bid'), ['deploy:validated', 'deploy:order-published', 'deploy:lease-final', 'deploy:manifest-accepted', 'deploy:services-running'])
    assert.ok(steps.includes('deploy:bid'), `a bid was reported: ${steps.join(',')}`)
    assert.is(d.provider, provider.peerId)
    // the host port: *.localhost hostnames of the ingress do not resolve through getaddrinfo everywhere (test/tenant covers them)
    const url = d.services![0].urls.find((u) => u.startsWith('http://127.0.0.1:'))!
    let page = ''
    for (let i = 0; i < 50 && !page.includes('hello from souk'); i++) {
      page = await fetch(url).then(async (r) => await r.text()).catch(() => '')
      if (!page.includes('hello from souk')) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.match(page, /hello from souk/)
    // every validator's certificate checks out on the tenant and on the provider
    assert.is(tenant.book.lease(d.order)?.state, 'active')
    assert.is(provider.book.lease(d.order)?.provider, tenant.book.lease(d.order)?.provider)
    // validators take orders and bids with their gossip verdicts, not checking them again (one
    // whose gossip copy came after a proposal named the item fetches and checks it itself)
    const adopted = nodes.filter((n) => n.validator != null).map((v) => v.validator!.committee.status().verifyAdopted)
    assert.ok(adopted.reduce((a, b) => a + b, 0) >= 2, `order and bid adopted from gossip: ${adopted.join(',')}`)
    // logs come from the provider over the lease stream, for the tenant only
    const lines: string[] = []
    for await (const l of tenant.tenant!.logs(d.order, { tail: 50 })) lines.push(l.line)
    assert.ok(lines.some((l) => l.includes('response:200')), `httpd logged the request: ${lines.join(' | ')}`)
    // usage: the provider states each period's cost, the tenant checks and countersigns it
    for (let i = 0; i < 50 && tenant.tenant!.usage(d.order).length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100))
    const usage = tenant.tenant!.usage(d.order)
    assert.ok(usage.length >= 2, 'at least two countersigned statements')
    assert.equal(usage.map((u) => u.sequence), usage.map((_u, i) => i))
    // the countersignature is on its way back to the provider
    const acked = (): number => provider.provider!.usage.records(d.order).filter((r) => r.ack != null).length
    for (let i = 0; i < 50 && acked() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100))
    assert.ok(acked() >= 2, `the provider holds two countersigned statements, not ${acked()}`)

    // the provider restarts from its home: the lease and its container are adopted, not removed
    const containerIds = async (): Promise<string[]> => (await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${d.order}`] } })).map((c) => c.Id)
    const before = await containerIds()
    await provider.stop()
    nodes.splice(nodes.indexOf(provider), 1)
    provider = await createNode({ home: join(root, 'p'), config: cfg(['provider'], boot), committee, logger, runtime: dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance, pull: 'never' })({}) })
    nodes.push(provider)
    assert.is(provider.provider!.leases.get(d.order)?.state, 'running')
    assert.equal(await containerIds(), before)
    let st: any
    for (let i = 0; i < 50 && st == null; i++) {
      st = await tenant.tenant!.status(d.order).catch(() => undefined)
      if (st == null) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.is(st.provider.state, 'running')
    // billing goes on from where it stopped, and the tenant keeps countersigning
    const before2 = tenant.tenant!.usage(d.order).length
    for (let i = 0; i < 50 && tenant.tenant!.usage(d.order).length <= before2; i++) await new Promise((resolve) => setTimeout(resolve, 100))
    assert.ok(tenant.tenant!.usage(d.order).length > before2, 'statements continue after the restart')
    // a signed update rolls out a new manifest on the same lease
    const updateSteps: string[] = []
    const updated = await tenant.tenant!.update(d.order, web.replace('GREETING=hello', 'GREETING=updated'), { onProgress: (e) => updateSteps.push(e.type) })
    assert.is(updated.sequence, 1)
    assert.equal(updateSteps, ['update:validated', 'update:manifest-accepted', 'update:rolled-out'])
    assert.is(provider.provider!.leases.get(d.order)?.sequence, 1)
    const env = await docker.listContainers({ filters: { label: [`${LABEL_LEASE}=${d.order}`] } })
    assert.is(env.length, 1)
    const envVars: string[] = (await docker.getContainer(env[0].Id).inspect()).Config.Env
    assert.ok(envVars.includes('GREETING=updated'), `the container runs the update: ${envVars.join(' ')}`)
    // an update that asks for more than the order is refused, and the lease keeps running
    try {
      await tenant.tenant!.update(d.order, web.replace('size: 64Mi', 'size: 128Mi'))
      assert.unreachable('an update beyond the order was accepted')
    } catch (err: any) {
      assert.is(err.code, 'ERR_MANIFEST_REFUSED')
      assert.match(err.message, /memory/)
    }
    assert.is(provider.provider!.leases.get(d.order)?.state, 'running')
    const closeSteps: string[] = []
    await tenant.tenant!.close(d.order, 'test done', { onProgress: (e) => closeSteps.push(e.type) })
    assert.equal(closeSteps, ['close:signed', 'close:sent'])
    for (let i = 0; i < 50; i++) {
      const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${d.order}`] } })
      if (left.length === 0) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.is((await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${d.order}`] } })).length, 0)
  })

  test('an order no provider can serve expires, and the tenant is told why providers declined', async () => {
    const huge = web.replace('size: 64Mi', 'size: 4096Gi').replace('amount: 100', 'amount: 100000000')
    try {
      await tenant.tenant!.deploy(huge)
      assert.unreachable('deployed an order no provider can hold')
    } catch (err: any) {
      assert.instance(err, DeployError)
      assert.is(err.code, 'ERR_NO_LEASE')
      assert.match(err.message, /no lease/)
      assert.match(err.message, /memory/i, err.message)
    }
  })

  test('a validator\'s metrics carry the committee\'s bound counters, every bound from the start, as its status counts them', async () => {
    const v0 = nodes[0]
    const text = v0.metrics.render()
    assert.match(text, /# TYPE souk_committee_bound_hits_total counter/)
    const bounds = v0.validator!.committee.status().bounds
    for (const bound of ['pool_full', 'non_member', 'ledger_orders', 'ledger_deadline', 'future_full']) {
      assert.match(text, new RegExp(`^souk_committee_bound_hits_total\\{bound="${bound}"\\} ${bounds[bound] ?? 0}$`, 'm'), bound)
    }
  })

  test('a validator joins; the new epoch reaches the tenant, which still checks its leases', async () => {
    const joiner = generateIdentity()
    const v4 = await createNode({ home: join(root, 'v4'), config: cfg(['validator'], boot), identity: joiner, committee, logger })
    nodes.push(v4)
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const change = v4.validator!.committee.requestChange('join')
    for (let i = 0; i < 50 && nodes[0].validator!.committee.status().changes.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100))
    for (const v of nodes.slice(0, 3)) v.validator!.committee.approveChange(change.id)
    for (let i = 0; i < 150 && tenant.committeeFiles().length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100))
    const epochs = nodes.filter((n) => n.validator != null).map((v) => { const s = v.validator!.committee.status(); return `${s.epoch}@${s.height}/${s.changes.length}` })
    assert.is(tenant.committeeFiles().length, 2, `the tenant adopted the epoch 1 committee file (validators epoch@height/pending: ${epochs.join(' ')})`)
    assert.is(tenant.committeeFiles()[1].info.validators.length, 5)
    const d = await tenant.tenant!.deploy(web)
    assert.is(d.state, 'running')
    assert.is(tenant.book.lease(d.order)!.certificate.epoch, 1)
    await tenant.tenant!.close(d.order)
  })

  test.run()
}
