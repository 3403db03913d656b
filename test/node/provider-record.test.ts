// A provider that wins and never serves: four validators, an honest provider on the real Docker
// engine, a cheaper provider that bids on everything and never takes a manifest (its node does not
// speak the manifest protocol), and a tenant, each a full node on loopback. The tenant's deployment
// with failover closes the failed lease as provider-failed and runs on the honest provider; the
// next order, under the default settings, goes to the honest provider at its higher price; and the
// record is the same on every validator and on the tenant.
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
import { dockerRuntime } from '../../src/runtime/index.ts'
import { Protocol } from '../../src/net/index.ts'
import { parseAmount } from '../../src/wire/index.ts'
import type { DeployProgressEvent } from '../../src/node/tenant/index.ts'
import type { FailoverProgressEvent } from '../../src/node/failover.ts'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { marketConfig, startValidators } from '../helpers/network.ts'

const docker = dockerFromEnv()
const root = mkdtempSync(join(tmpdir(), 'souk-record-'))
const nodes: Souk[] = []
const web = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

if (docker == null) {
  skipNotice('test/node/provider-record.test.ts')
} else {
  const logger = createLogger({ level: 'warn', destination: process.stderr })
  const validators = Array.from({ length: 4 }, () => generateIdentity())
  const committee = [genesisCommitteeFile(validators)]
  const instance = `souk-test-${randomBytes(4).toString('hex')}`
  let tenant: Souk
  let honest: Souk
  let bad: Souk
  /** the deployment that failed over and runs on the honest provider */
  let running = ''

  test.before(async () => {
    const started = await startValidators({ root, identities: validators, committee, logger, config: marketConfig })
    nodes.push(...started.nodes)
    const boot = started.boot
    const runtime = (): ReturnType<ReturnType<typeof dockerRuntime>> => dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance, pull: 'never' })({})
    honest = await createNode({ home: join(root, 'honest'), config: marketConfig(['provider'], boot), committee, logger, runtime: runtime() })
    nodes.push(honest)
    const cheap: SoukConfig = marketConfig(['provider'] as Role[], boot)
    cheap.provider.prices = { cpu: '10', memory: '1', storage: '0.1', gpu: '100', endpoint: '0' }
    bad = await createNode({ home: join(root, 'bad'), config: cheap, committee, logger, runtime: runtime() })
    nodes.push(bad)
    // it bids, wins, and never takes a manifest
    await bad.net.libp2p.unhandle(Protocol.MANIFEST)
    tenant = await createNode({ home: join(root, 't'), config: marketConfig(['tenant'], boot), committee, logger })
    nodes.push(tenant)
    for (let i = 0; i < 100 && (tenant.net.gossip.meshPeers('/souk/1/orders').length === 0 || honest.net.gossip.meshPeers('/souk/1/bids').length === 0 || bad.net.gossip.meshPeers('/souk/1/bids').length === 0); i++) await sleep(100)
  })

  test.after(async () => {
    for (const n of nodes.reverse()) await n.stop().catch(() => {})
    rmSync(root, { recursive: true, force: true })
    // the honest provider stops with its leases running (the second test): their containers,
    // networks and volumes go here, or the shared engine runs out of address pools
    const filters = { label: [`souk.instance=${instance}`] }
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => {})
    for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {})
  })

  test('a provider that wins and never serves loses its next auction to a dearer honest one; the record is the same everywhere', async () => {
    const events: Array<DeployProgressEvent | FailoverProgressEvent> = []
    const d = await tenant.tenant!.deploy(web, { failover: { manifestTimeoutMs: 5_000, maxFailovers: 2, lostAfterMs: 3_000, probeMs: 500 }, onProgress: (e) => events.push(e), onFailover: (e) => events.push(e) })
    running = d.order
    const types = events.map((e) => e.type)
    assert.ok(types.includes('failover:provider-failed'), types.join(','))
    assert.is(d.state, 'running')
    assert.is(d.provider, honest.peerId, 'the failover runs on the honest provider')
    const first = tenant.tenant!.get(d.replaces!)!
    assert.is(first.provider, bad.peerId, 'the cheap provider won the first auction')
    assert.is(first.closeCode, 'provider-failed')

    // the committee records the failure
    const want = { won: 1, served: 0, lost: 0, failed: 1, uncounted: 0 }
    let rec: any
    for (let i = 0; i < 100; i++) {
      rec = await tenant.providerRecord(bad.peerId).catch(() => undefined)
      if (rec?.record?.failed === 1) break
      await sleep(100)
    }
    assert.equal(rec?.record, want, JSON.stringify(rec))
    assert.is(rec.source, 'validators')
    for (const v of nodes.filter((n) => n.validator != null)) assert.equal((await v.providerRecord(bad.peerId)).record, want)

    // the next order, default settings, no failover: the cheap bid is there and loses
    const bids: Array<{ provider: string, total: bigint }> = []
    const d2 = await tenant.tenant!.deploy(web.replace('GREETING=hello', 'GREETING=second'), {
      failover: false,
      onProgress: (e) => { if (e.type === 'deploy:bid') bids.push({ provider: e.detail.provider, total: e.detail.prices.reduce((s, p) => s + parseAmount(p.amount), 0n) }) }
    })
    const cheapBid = bids.find((b) => b.provider === bad.peerId)
    const honestBid = bids.find((b) => b.provider === honest.peerId)
    assert.ok(cheapBid != null && honestBid != null, `both bid: ${bids.map((b) => b.provider.slice(-6)).join(',')}`)
    assert.ok(cheapBid.total < honestBid.total, 'the failed provider bid lower')
    assert.is(d2.provider, honest.peerId, 'and the honest, dearer provider won')
    assert.is(d2.state, 'running')
  })

  test('a tenant node that was down checks its leases when it starts, and fails over the one whose provider is gone', async () => {
    const home = tenant.home
    await tenant.stop()
    nodes.splice(nodes.indexOf(tenant), 1)
    // the provider goes for good while the tenant is down (its containers keep running, as after kill -9)
    await honest.stop()
    nodes.splice(nodes.indexOf(honest), 1)
    tenant = await createNode({ home, config: marketConfig(['tenant'], [nodes[0].net.multiaddrs()[0]]), committee, logger })
    nodes.push(tenant)
    let d = tenant.tenant!.get(running)
    for (let i = 0; i < 300 && !(d?.history ?? []).some((s) => s.type === 'gave-up'); i++) { await sleep(100); d = tenant.tenant!.get(running) }
    const steps = (d?.history ?? []).map((s) => s.type)
    assert.equal(steps.slice(-3), ['lost', 'closed', 'gave-up'], JSON.stringify(d?.history))
    assert.is(d!.closeCode, 'provider-lost')
    // no provider is left that the order accepts: the bad one is denied and has a failure, the honest one is gone
    assert.match(d!.history!.at(-1)!.message, /no lease/)
  })
}

test.run()
