// The provider's lease lifecycle over the real Docker runtime: the manifest is checked against
// the order and its tenant, run, served, and closed; a missing manifest closes the lease; a
// deploy, update or close cut short by a restart is finished from the saved record.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { providerLeases, LeaseRefusedError } from '../../src/market/provider-leases.ts'
import type { SavedProviderLease, ProviderLeases } from '../../src/market/provider-leases.ts'
import { buildOrder } from '../../src/market/order-builder.ts'
import { manualClock } from '../../src/market/clock.ts'
import { loadSdl, canonicalManifestBytes, canonicalJson } from '../../src/sdl/index.ts'
import { dockerRuntime, LABEL_LEASE, LABEL_GENERATION } from '../../src/runtime/index.ts'
import type { ContainerRuntime } from '../../src/runtime/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { signMessage, openMessage, MessageTag, sha256 } from '../../src/wire/index.ts'
import type { OrderBody, BidBody, ManifestUpdateBody } from '../../src/wire/index.ts'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'

const docker = dockerFromEnv()
const tenant = generateIdentity()
const stranger = generateIdentity()
const provider = generateIdentity()
const sdlText = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')

function lease (text = sdlText): { order: ReturnType<typeof signMessage<OrderBody>>, bid: ReturnType<typeof signMessage<BidBody>>, manifest: Uint8Array } {
  const loaded = loadSdl(text)
  const order = signMessage(tenant, MessageTag.ORDER, buildOrder(loaded, { bidWindowMs: 1000, now: Date.now() }))
  const bid = signMessage(provider, MessageTag.BID, { order: order.id, prices: [{ denom: 'uakt', amount: '50' }], attributes: { region: 'local' }, auditors: [], expiresAt: Date.now() + 60_000 })
  return { order, bid, manifest: canonicalManifestBytes(loaded.manifest) }
}

async function refusal (p: Promise<unknown>): Promise<LeaseRefusedError> {
  try { await p } catch (err) { assert.instance(err, LeaseRefusedError); return err as LeaseRefusedError }
  throw new Error('expected a refusal')
}

if (docker == null) {
  skipNotice('test/market/provider-leases.test.ts')
} else {
  const instance = `souk-test-${randomBytes(4).toString('hex')}`
  const runtime = dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance, pull: 'never' })({})

  test('refuses a manifest from a peer that is not the tenant, or whose hash differs, or that outgrows the order', async () => {
    const clock = manualClock(Date.now())
    const leases = providerLeases({ manifestTimeoutMs: 60_000 })({ signer: provider, runtime, clock })
    const { order, bid, manifest } = lease()
    leases.leaseWon(order, bid)
    const tenantPeer = tenant.peerId.toString()
    const e1 = await refusal(leases.handleManifest(stranger.peerId.toString(), { lease: order.id, manifest, sequence: 0 }))
    assert.is(e1.code, 'not-tenant')
    const other = canonicalManifestBytes(loadSdl(sdlText.replace('GREETING=hello', 'GREETING=bye')).manifest)
    const e2 = await refusal(leases.handleManifest(tenantPeer, { lease: order.id, manifest: other, sequence: 0 }))
    assert.is(e2.code, 'hash-mismatch')
    const e3 = await refusal(leases.handleManifest(tenantPeer, { lease: new Uint8Array(32), manifest, sequence: 0 }))
    assert.is(e3.code, 'unknown-lease')
    // an order that understates the manifest: same hash, smaller resources
    const honest = lease()
    const body: OrderBody = JSON.parse(JSON.stringify(honest.order.body, (_k, v) => v instanceof Uint8Array ? { $b: Buffer.from(v).toString('hex') } : v), (_k, v) => v?.$b != null ? new Uint8Array(Buffer.from(v.$b, 'hex')) : v)
    body.groups[0].resources[0].memory = 1024 * 1024
    const sneaky = signMessage(tenant, MessageTag.ORDER, body)
    leases.leaseWon(sneaky, signMessage(provider, MessageTag.BID, { ...honest.bid.body, order: sneaky.id }))
    const e4 = await refusal(leases.handleManifest(tenantPeer, { lease: sneaky.id, manifest: honest.manifest, sequence: 0 }))
    assert.is(e4.code, 'exceeds-order')
    assert.is(e4.path, 'groups[0].services[0].resources.memory')
    leases.stop()
  })

  test('a hostile manifest whose hash the tenant put in an honest-looking order is refused, and nothing is created', async () => {
    const leases = providerLeases({ manifestTimeoutMs: 60_000 })({ signer: provider, runtime })
    const honest = lease()
    const m = JSON.parse(Buffer.from(honest.manifest).toString())
    // memory 0 (no limit at all on Docker), a 5 TB ram volume, a negative volume: the totals fit the order
    m.groups[0].services[0].resources.memory = 0
    m.groups[0].services[0].resources.storage = [
      { name: 'default', size: 5e12, persistent: false, class: 'ram' },
      { name: 'data', size: -(5e12 - 64 * 1024 * 1024), persistent: true, class: 'beta2' }
    ]
    const bytes = new TextEncoder().encode(canonicalJson(m))
    const body = { ...honest.order.body, manifestHash: sha256(bytes) }
    const order = signMessage(tenant, MessageTag.ORDER, body)
    leases.leaseWon(order, signMessage(provider, MessageTag.BID, { ...honest.bid.body, order: order.id }))
    const e = await refusal(leases.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest: bytes, sequence: 0 }))
    assert.is(e.code, 'invalid-manifest')
    assert.is(e.path, 'groups[0].services[0].resources.memory')
    assert.is(leases.get(order.idHex)?.state, 'awaiting-manifest')
    for (const kind of ['listContainers', 'listNetworks'] as const) {
      const found = await (docker as any)[kind]({ all: true, filters: { label: [`${LABEL_LEASE}=${order.idHex}`] } })
      assert.is(found.length, 0, `no ${kind.slice(4)} for the refused lease`)
    }
    const volumes = await docker.listVolumes({ filters: { label: [`${LABEL_LEASE}=${order.idHex}`] } })
    assert.is(volumes.Volumes?.length ?? 0, 0)
    leases.stop()
  })

  test('a lease whose manifest never arrives is closed with that reason, and its reservation freed', async () => {
    const clock = manualClock(Date.now())
    const closes: Array<[string, string]> = []
    const released: string[] = []
    const leases = providerLeases({ manifestTimeoutMs: 30_000 })({
      signer: provider, runtime, clock,
      announceClose: async (id, reason) => { closes.push([id, reason]) },
      releaseReservation: (id) => released.push(id)
    })
    const { order, bid } = lease()
    leases.leaseWon(order, bid)
    clock.advance(29_000)
    assert.is(leases.get(order.idHex)?.state, 'awaiting-manifest')
    clock.advance(2_000)
    await new Promise((resolve) => setImmediate(resolve))
    assert.is(leases.get(order.idHex)?.state, 'closed')
    assert.equal(closes, [[order.idHex, 'manifest not received within 30 s of the lease']])
    assert.equal(released, [order.idHex])
  })

  test('a manifest sent twice at once (a retry while the first deploy runs) is deployed once, and both get its answer', async () => {
    const leases = providerLeases({ manifestTimeoutMs: 60_000 })({ signer: provider, runtime })
    const { order, bid, manifest } = lease()
    leases.leaseWon(order, bid)
    try {
      const [a, b] = await Promise.all([0, 1].map(async () => await leases.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest, sequence: 0 })))
      assert.is(a.services[0].urls[0].url, b.services[0].urls[0].url)
      assert.is((await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${order.idHex}`] } })).length, 1, 'one container, not two')
    } finally {
      await leases.close(order.idHex, 'test done')
      leases.stop()
    }
  })

  test('the tenant\'s manifest runs, serves its page, takes a signed update, and closing removes everything', async () => {
    const leases = providerLeases({ manifestTimeoutMs: 60_000 })({ signer: provider, runtime })
    const { order, bid, manifest } = lease()
    leases.leaseWon(order, bid)
    try {
      const deployed = await leases.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest, sequence: 0 })
      assert.is(leases.get(order.idHex)?.state, 'running')
      const url = deployed.services[0].urls[0].url
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
      let page = ''
      for (let i = 0; i < 50 && !page.includes('hello from souk'); i++) {
        page = await fetch(url).then(async (r) => await r.text()).catch(() => '')
        if (!page.includes('hello from souk')) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      assert.match(page, /hello from souk/)
      // the same manifest again as sequence 0 (a retry after a network failure) gets the same
      // answer and runs nothing twice; another manifest as sequence 0 is refused
      const again = await leases.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest, sequence: 0 })
      assert.is(again.services[0].urls[0].url, url)
      assert.is((await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${order.idHex}`] } })).length, 1, 'one container, not two')
      const other = canonicalManifestBytes(loadSdl(sdlText.replace('GREETING=hello', 'GREETING=other')).manifest)
      assert.is((await refusal(leases.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest: other, sequence: 0 }))).code, 'out-of-sequence')
      // an update needs the tenant's signature first
      const next = canonicalManifestBytes(loadSdl(sdlText.replace('GREETING=hello', 'GREETING=bye')).manifest)
      assert.is((await refusal(leases.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest: next, sequence: 1 }))).code, 'out-of-sequence')
      leases.acceptUpdate(tenant.peerId.toString(), signMessage<ManifestUpdateBody>(tenant, MessageTag.MANIFEST_UPDATE, { lease: order.id, manifestHash: sha256(next), sequence: 1 }))
      await leases.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest: next, sequence: 1 })
      assert.is(leases.get(order.idHex)?.sequence, 1)
      const st = await runtime.status(order.idHex)
      assert.is(st.services[0].ready, 1)
    } finally {
      await leases.close(order.idHex, 'test finished')
    }
    assert.is(leases.get(order.idHex)?.state, 'closed')
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${order.idHex}`] } })
    assert.is(left.length, 0)
  })

  // A provider killed in the middle of a lease's deploy, update or close: its store holds what it
  // saved up to then, the engine what the cut step left. Another instance restores the record
  // and reconciles, as a restarted provider does (src/node/provider/restore.ts).
  const leaseContainers = async (id: string): Promise<Array<{ Id: string, State: string, Labels: Record<string, string> }>> =>
    await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${id}`] } }) as any
  function restartedFrom (saved: Map<string, SavedProviderLease>, more: Partial<Parameters<ReturnType<typeof providerLeases>>[0]> = {}): ProviderLeases {
    const leases = providerLeases({ manifestTimeoutMs: 60_000 })({ signer: provider, runtime, save: (r) => { saved.set(r.lease, r) }, ...more })
    for (const r of saved.values()) {
      leases.restore(openMessage<OrderBody>(r.order, { trusted: true }), openMessage<BidBody>(r.bid, { trusted: true }), r)
    }
    return leases
  }
  /** the runtime of a provider that dies in `step`: the call never returns */
  const killedIn = (step: 'update' | 'close'): ContainerRuntime => ({ ...runtime, [step]: async () => await new Promise(() => {}) })

  test('a lease saved while its containers were being made is deployed again after a restart', async () => {
    const saved = new Map<string, SavedProviderLease>()
    const before = providerLeases({ manifestTimeoutMs: 60_000 })({ signer: provider, runtime, save: (r) => { if (r.state !== 'running') saved.set(r.lease, r) } })
    const { order, bid, manifest } = lease()
    before.leaseWon(order, bid)
    await before.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest, sequence: 0 })
    before.stop()
    // killed after the lease's network, before its container: the record says deploying
    assert.is(saved.get(order.idHex)?.state, 'deploying')
    for (const c of await leaseContainers(order.idHex)) await docker.getContainer(c.Id).remove({ force: true })
    const after = restartedFrom(saved)
    try {
      assert.is(after.get(order.idHex)?.state, 'deploying', 'not running before its containers are')
      await after.reconcile()
      assert.is(after.get(order.idHex)?.state, 'running')
      assert.is(after.get(order.idHex)?.sequence, 0)
      assert.is(saved.get(order.idHex)?.state, 'running')
      const cs = await leaseContainers(order.idHex)
      assert.equal(cs.map((c) => c.State), ['running'])
    } finally {
      await after.close(order.idHex, 'test finished')
    }
    assert.equal(await leaseContainers(order.idHex), [])
  })

  test('an update cut short by a restart is rolled out again, and one generation serves each replica', async () => {
    const saved = new Map<string, SavedProviderLease>()
    const before = providerLeases({ manifestTimeoutMs: 60_000 })({ signer: provider, runtime: killedIn('update'), save: (r) => { saved.set(r.lease, r) } })
    const { order, bid, manifest } = lease()
    before.leaseWon(order, bid)
    await before.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest, sequence: 0 })
    const next = canonicalManifestBytes(loadSdl(sdlText.replace('GREETING=hello', 'GREETING=bye')).manifest)
    before.acceptUpdate(tenant.peerId.toString(), signMessage<ManifestUpdateBody>(tenant, MessageTag.MANIFEST_UPDATE, { lease: order.id, manifestHash: sha256(next), sequence: 1 }))
    void before.accept(tenant.peerId.toString(), { lease: order.id, manifest: next, sequence: 1 })
    before.stop()
    assert.is(saved.get(order.idHex)?.rollout?.sequence, 1, 'the rollout was saved before it started')
    // what the cut update left: the new generation's replica next to the old one
    const [old] = await leaseContainers(order.idHex)
    const info = await docker.getContainer(old.Id).inspect()
    const made = await docker.createContainer({ ...info.Config, name: `${info.Name.slice(1)}-g2`, Labels: { ...info.Config.Labels, [LABEL_GENERATION]: '2' }, HostConfig: info.HostConfig } as any)
    await made.start()
    assert.is((await leaseContainers(order.idHex)).length, 2)
    const after = restartedFrom(saved)
    try {
      await after.reconcile()
      const l = after.get(order.idHex)
      assert.is(l?.state, 'running')
      assert.is(l?.sequence, 1, 'the update the tenant signed runs')
      assert.is(saved.get(order.idHex)?.rollout, undefined)
      const cs = await leaseContainers(order.idHex)
      assert.equal(cs.map((c) => [c.State, c.Labels[LABEL_GENERATION]]), [['running', '3']], 'one replica, of one generation')
      const env = (await docker.getContainer(cs[0].Id).inspect()).Config.Env
      assert.ok(env.includes('GREETING=bye'), 'it runs the updated manifest')
    } finally {
      await after.close(order.idHex, 'test finished')
    }
  })

  test('a close cut short by a restart is finished: the objects go, the record says closed, the Close goes out', async () => {
    const saved = new Map<string, SavedProviderLease>()
    const before = providerLeases({ manifestTimeoutMs: 60_000 })({ signer: provider, runtime: killedIn('close'), save: (r) => { saved.set(r.lease, r) } })
    const { order, bid, manifest } = lease()
    before.leaseWon(order, bid)
    await before.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest, sequence: 0 })
    void before.close(order.idHex, 'closed by the tenant: done')
    before.stop()
    assert.is(saved.get(order.idHex)?.state, 'closing', 'the close was saved before the objects went')
    const announced: Array<[string, string]> = []
    const released: string[] = []
    const after = restartedFrom(saved, { announceClose: async (id, reason) => { announced.push([id, reason]) }, releaseReservation: (id) => released.push(id) })
    assert.is(after.get(order.idHex)?.state, 'closing')
    const r = await after.reconcile()
    assert.not.ok(r.adopted.includes(order.idHex), 'a closing lease\'s objects are not adopted')
    assert.is(after.get(order.idHex)?.state, 'closed')
    assert.is(saved.get(order.idHex)?.state, 'closed')
    assert.equal(announced, [[order.idHex, 'closed by the tenant: done']])
    assert.equal(released, [order.idHex])
    assert.equal(await leaseContainers(order.idHex), [])
    const nets = await docker.listNetworks({ filters: { label: [`${LABEL_LEASE}=${order.idHex}`] } })
    assert.is(nets.length, 0)
  })

  test.run()
}
