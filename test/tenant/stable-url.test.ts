// A tenant's day on a local network (four validators, a provider on the real Docker engine, a
// tenant; each a full node on loopback): a dry run lists every provider's answer with every
// reason; a deployment gets a stable URL on the provider's ingress, and its own `accept` name;
// the URL keeps working, with the new content, after an update and after a provider restart;
// `lease events` tells the lease's history from the manifest to the close; a provider that is
// down is named; closing a lease the provider adopted at its restart gives its capacity back.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import http from 'node:http'
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
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { marketConfig, startValidators } from '../helpers/network.ts'

const docker = dockerFromEnv()
const root = mkdtempSync(join(tmpdir(), 'souk-tenant-'))
const nodes: Souk[] = []
const web = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')
// the page says what GREETING is, so an update shows on the same URL
const greeting = (g: string): string => web
  .replace('command: ["httpd"]', 'command: ["sh", "-c"]')
  .replace('args: ["-f", "-v", "-p", "8080", "-h", "/www"]', 'args: ["mkdir -p /tmp/w && echo \\"greeting $GREETING\\" > /tmp/w/index.html && exec httpd -f -v -p 8080 -h /tmp/w"]')
  .replace('GREETING=hello', `GREETING=${g}`)
  .replace('        as: 80\n', '        as: 80\n        accept:\n          - www.example.test\n')

function cfg (roles: Role[], bootstrap: string[]): SoukConfig {
  const c = marketConfig(roles, bootstrap)
  c.provider.cpu = 2000
  return c
}

/** GET as curl and browsers do it: a `*.localhost` name is loopback */
async function get (url: string, host?: string): Promise<{ status: number, body: string }> {
  const u = new URL(url)
  const connectTo = u.hostname.endsWith('.localhost') || u.hostname === 'localhost' ? '127.0.0.1' : u.hostname
  return await new Promise((resolve, reject) => {
    http.get({ host: connectTo, port: Number(u.port || 80), path: u.pathname, headers: { host: host ?? u.host }, agent: false, timeout: 5000 }, (res) => {
      let body = ''
      res.on('data', (c) => { body += String(c) })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject).on('timeout', function (this: http.ClientRequest) { this.destroy(new Error('timeout')) })
  })
}

async function until (what: string, f: () => Promise<boolean> | boolean, tries = 100, ms = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await Promise.resolve(f()).catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, ms))
  }
  assert.unreachable(`timed out waiting for ${what}`)
}

if (docker == null) {
  skipNotice('test/tenant/stable-url.test.ts')
} else {
  const logger = createLogger({ level: 'warn', destination: process.stderr })
  const validators = Array.from({ length: 4 }, () => generateIdentity())
  const committee = [genesisCommitteeFile(validators)]
  const providerId = generateIdentity()
  let tenant: Souk
  let provider: Souk
  let boot: string[] = []
  const instance = `souk-test-${randomBytes(4).toString('hex')}`
  const startProvider = async (): Promise<Souk> => {
    const runtime = dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance, pull: 'never' })({})
    const p = await createNode({ home: join(root, 'p'), config: cfg(['provider'], boot), identity: providerId, committee, logger, runtime })
    nodes.push(p)
    return p
  }
  const stopProvider = async (): Promise<void> => {
    await provider.stop()
    nodes.splice(nodes.indexOf(provider), 1)
  }

  test.before(async () => {
    const started = await startValidators({ root, identities: validators, committee, logger, config: cfg })
    nodes.push(...started.nodes)
    boot = started.boot
    provider = await startProvider()
    tenant = await createNode({ home: join(root, 't'), config: cfg(['tenant'], boot), committee, logger })
    nodes.push(tenant)
    await until('gossip meshes', () => tenant.net.gossip.meshPeers('/souk/1/orders').length > 0 && provider.net.gossip.meshPeers('/souk/1/bids').length > 0)
  })

  test.after(async () => {
    for (const n of nodes.reverse()) await n.stop().catch(() => {})
    rmSync(root, { recursive: true, force: true })
    for (const c of await docker.listContainers({ all: true, filters: { label: [`souk.instance=${instance}`] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {})
  })

  test('a dry run lists every provider\'s answer, every reason, capacity and attributes before price, and publishes nothing', async () => {
    await until('the tenant knows the provider speaks the explain protocol', async () => (await tenant.net.libp2p.peerStore.get(provider.net.libp2p.peerId)).protocols.includes('/souk/explain/2.0.0'))
    const impossible = web.replace('size: 64Mi', 'size: 900Gi').replace('units: 0.25', 'units: 64').replace('region: local', 'region: mars').replace('amount: 100', 'amount: 1')
    const no = await tenant.tenant!.dryRun(impossible)
    const mine = no.answers.find((a) => a.provider === provider.peerId)
    assert.ok(mine != null, `the provider answered: ${JSON.stringify(no.answers)}`)
    assert.is(mine.outcome, 'declined', JSON.stringify(mine))
    const codes = mine.reasons.map((r) => r.code)
    assert.equal(codes, ['ERR_MISSING_ATTRIBUTE', 'ERR_INSUFFICIENT_CPU', 'ERR_INSUFFICIENT_MEMORY', 'ERR_PRICE_ABOVE_MAX'], JSON.stringify(mine.reasons))
    // validators and the tenant are not providers: they are not listed
    assert.is(no.answers.length, 1, JSON.stringify(no.answers))
    const yes = await tenant.tenant!.dryRun(web)
    assert.is(yes.answers[0].outcome, 'bid')
    assert.is(yes.answers[0].prices?.[0].denom, 'uakt')
    // nothing was published, nothing is held
    assert.is(provider.book.openOrders(Date.now()).length, 0)
    assert.is(tenant.tenant!.list().length, 0)
    assert.is(provider.provider!.engine.held().length, 0)
  })

  test('the URL stays: update, provider restart; an accept name answers; events from manifest to close; capacity comes back', async () => {
    const d = await tenant.tenant!.deploy(greeting('one'))
    assert.is(d.state, 'running')
    const url = d.services![0].urls[0]
    assert.match(url, /^http:\/\/web-[0-9a-f]{16}\.localhost:\d+$/)
    assert.ok(url.includes(d.order.slice(0, 16)))
    await until('the page through the ingress', async () => (await get(url)).body.includes('greeting one'))
    const accepted = await get(url, 'www.example.test')
    assert.match(accepted.body, /greeting one/)
    // no notice that accept names are not routed: they are
    const st0: any = await tenant.tenant!.status(d.order)
    assert.not.ok((st0.provider.deployed.notices ?? []).some((n: any) => n.code === 'accept-hostnames'), JSON.stringify(st0.provider.deployed.notices))
    const directBefore = st0.provider.deployed.services[0].urls.find((u: any) => u.host === '127.0.0.1')?.url

    // an update: new containers on a new host port, the same URL
    const up = await tenant.tenant!.update(d.order, greeting('two'))
    assert.is(up.services![0].urls[0], url)
    await until('the updated page on the same URL', async () => (await get(url)).body.includes('greeting two'))
    const st1: any = await tenant.tenant!.status(d.order)
    assert.is.not(st1.provider.deployed.services[0].urls.find((u: any) => u.host === '127.0.0.1')?.url, directBefore, 'the host port moved; the URL did not')

    // the provider restarts: the lease is adopted, the URL still answers
    const cpuCapacity = provider.provider!.inventory.capacity().cpu
    await stopProvider()
    // while it is down, the tenant hears which provider, since when, and that the containers may run on
    try {
      await tenant.tenant!.status(d.order)
      assert.unreachable('status from a stopped provider')
    } catch (err: any) {
      assert.is(err.code, 'ERR_PROVIDER_UNREACHABLE')
      assert.ok(err.message.includes(provider.peerId), err.message)
      assert.match(err.message, /last heard from \d{4}-\d\d-\d\dT/)
      assert.match(err.message, /containers may still be running/)
    }
    provider = await startProvider()
    assert.is(provider.provider!.leases.get(d.order)?.state, 'running')
    await until('the page after the restart', async () => (await get(url)).body.includes('greeting two'))
    assert.match((await get(url, 'www.example.test')).body, /greeting two/)
    assert.is(provider.provider!.inventory.free().cpu, cpuCapacity - 250, 'the adopted lease holds its cpu')

    // the history, from the start
    const types = async (): Promise<string[]> => { const out: string[] = []; for await (const e of tenant.tenant!.events(d.order)) out.push(e.type); return out }
    const h = await types()
    for (const t of ['lease:won', 'manifest:received', 'replica:created', 'replica:started', 'lease:running', 'lease:updated']) assert.ok(h.includes(t), `${t} in ${h.join(',')}`)
    assert.ok(h.indexOf('manifest:received') < h.indexOf('lease:running'))
    await until('the old container\'s exit, with its code', async () => {
      for await (const e of tenant.tenant!.events(d.order)) if (e.type === 'replica:exited' && /exit code \d+/.test(e.message ?? '')) return true
      return false
    }, 50)
    // the tenant's status shows the last few
    const st2: any = await tenant.tenant!.status(d.order)
    assert.ok(st2.provider.recent.length > 0 && st2.provider.recent.length <= 5)

    // a follower sees the close as it happens
    const ac = new AbortController()
    const followed: string[] = []
    const following = (async () => { for await (const e of tenant.tenant!.events(d.order, { follow: true, signal: ac.signal })) { followed.push(e.type); if (e.type === 'lease:closed') ac.abort() } })().catch(() => {})
    await tenant.tenant!.close(d.order, 'test done')
    await until('capacity back after closing the adopted lease', () => provider.provider!.inventory.free().cpu === cpuCapacity)
    await until('the follower saw the close', () => followed.includes('lease:closed'))
    ac.abort()
    await following
    assert.is(followed[0], 'lease:won', 'following starts from the beginning')
    // a closed lease lists no URL, and its hostnames answer nothing
    const listed = tenant.tenant!.list().find((x) => x.order === d.order)!
    assert.is(listed.state, 'closed')
    assert.equal(listed.services!.flatMap((s) => s.urls), [])
    assert.is((await get(url)).status, 404)
    await until('containers removed', async () => (await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${d.order}`] } })).length === 0)
  })

  test.run()
}
