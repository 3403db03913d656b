// The operator's checks fail, by name, when the node is not doing its job: no peers, the
// runtime stopped, the committee stalled; and pass when it is.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode } from '../../src/node/create-node.ts'
import type { Souk } from '../../src/node/create-node.ts'
import { genesisCommitteeFile } from '../../src/committee/index.ts'
import { createLogger } from '../../src/node/logger.ts'
import type { SoukConfig, Role } from '../../src/config/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import type { Identity } from '../../src/identity/index.ts'
import { dockerRuntime } from '../../src/runtime/index.ts'
import { controlServer, controlClient } from '../../src/api/index.ts'
import { registerRoutes } from '../../src/node/control-routes.ts'
import type { HealthReport, HealthInit } from '../../src/node/health.ts'
import { testConfig } from '../helpers/network.ts'

const root = mkdtempSync(join(tmpdir(), 'souk-health-'))
const nodes: Souk[] = []
const servers: Array<{ stop: () => Promise<void> }> = []
const logger = createLogger({ level: 'error', destination: process.stderr })
// the runtime under test is the one named in the config, not the engine other tests use
const engine = process.env.DOCKER_HOST
delete process.env.DOCKER_HOST

test.after(async () => {
  for (const s of servers) await s.stop().catch(() => {})
  for (const n of nodes.reverse()) await n.stop().catch(() => {})
  rmSync(root, { recursive: true, force: true })
})

function cfg (roles: Role[], bootstrap: string[] = []): SoukConfig {
  const c = testConfig(roles, bootstrap)
  c.committee.idleBatchIntervalMs = 200
  c.log.level = 'error'
  return c
}

let seq = 0
/** a node with its control API, as the daemon serves it; the health of GET /v1/health */
async function start (config: SoukConfig, opts: { identity?: Identity, committee: ReturnType<typeof genesisCommitteeFile>[], runtime?: any, health?: HealthInit }): Promise<{ node: Souk, health: () => Promise<HealthReport> }> {
  const home = join(root, `n${seq++}`)
  const node = await createNode({ home, config, identity: opts.identity, committee: opts.committee, logger, runtime: opts.runtime })
  nodes.push(node)
  const server = controlServer({ socketPath: join(home, 'control.sock') })
  registerRoutes(server, node, { stop: () => {}, health: opts.health })
  await server.start()
  servers.push(server)
  const client = controlClient({ socketPath: join(home, 'control.sock') })
  return { node, health: async () => await client.get<HealthReport>('/v1/health') }
}

const check = (r: HealthReport, name: string): any => r.checks.find((c) => c.name === name)

test('a node alone: the peers check fails and says how to fix it', async () => {
  const { health } = await start(cfg(['tenant']), { committee: [genesisCommitteeFile([generateIdentity()])] })
  const r = await health()
  assert.is(r.ok, false)
  assert.ok(r.failing.includes('peers'), JSON.stringify(r.failing))
  assert.match(check(r, 'peers').fix, /network\.bootstrap/)
  assert.is(check(r, 'disk').status, 'ok')
  assert.is(check(r, 'runtime').status, 'skip')
})

test('a provider whose Docker engine is stopped: the runtime check fails, naming the socket it tried', async () => {
  const sock = `unix://${join(root, 'stopped-engine.sock')}`
  const c = cfg(['provider'])
  c.provider.dockerHost = sock
  const runtime = dockerRuntime({ dockerHost: sock, instance: 'souk-health-test', pull: 'never' })({})
  const { node, health } = await start(c, { committee: [genesisCommitteeFile([generateIdentity()])], runtime })
  const r = await health()
  assert.ok(r.failing.includes('runtime'), JSON.stringify(r.checks))
  assert.match(check(r, 'runtime').detail, /docker at unix:\/\/.*stopped-engine\.sock does not answer/)
  assert.match(check(r, 'runtime').fix, /DOCKER_HOST/)
  // and provider status names where the runtime is, not only "docker"
  const ps = await controlClient({ socketPath: join(node.home, 'control.sock') }).get<any>('/v1/provider')
  assert.is(ps.runtimeEndpoint, sock)
})

test('a provider whose engine cannot limit ephemeral storage: the storage check warns that it declines such orders, and names both fixes', async () => {
  if (engine == null) { process.stdout.write('storage check: DOCKER_HOST unset, skipped\n'); return }
  const c = cfg(['provider'])
  c.provider.dockerHost = engine
  c.provider.sandbox.unenforcedStorage = 'decline'
  const runtime = dockerRuntime({ dockerHost: engine, instance: 'souk-health-test', pull: 'never' })({})
  const { node, health } = await start(c, { committee: [genesisCommitteeFile([generateIdentity()])], runtime })
  const ps = await node.provider!.status() as { declinedStorage: Array<{ kind: string }> }
  const r = await health()
  if (ps.declinedStorage.length === 0) {
    // an engine that limits every kind (overlay2 on xfs with pquota): nothing to warn about
    assert.is(check(r, 'storage').status, 'ok')
    return
  }
  assert.is(check(r, 'storage').status, 'warn')
  assert.match(check(r, 'storage').detail, /declines every order that asks for ephemeral/)
  assert.match(check(r, 'storage').fix, /pquota.*unenforcedStorage: accept/)
  assert.not.ok(r.failing.includes('storage'), 'a warning, not a failure')
})

test('a validator whose committee cannot reach its threshold: the committee check fails as stalled', async () => {
  const ids = Array.from({ length: 4 }, () => generateIdentity())
  const { health } = await start(cfg(['validator']), { identity: ids[0], committee: [genesisCommitteeFile(ids)], health: { committeeStallMs: 1500 } })
  await new Promise((resolve) => setTimeout(resolve, 2500))
  const r = await health()
  assert.ok(r.failing.includes('committee'), JSON.stringify(r.checks))
  assert.match(check(r, 'committee').detail, /^stalled: height 1 for \d+ s/)
  assert.match(check(r, 'committee').fix, /3 of 4 validators/)
})

test('a committee of one that decides batches, with a peer: committee, peers and clock pass', async () => {
  const id = generateIdentity()
  const committee = [genesisCommitteeFile([id])]
  const v = await start(cfg(['validator']), { identity: id, committee, health: { committeeStallMs: 1500 } })
  const t = await start(cfg(['tenant'], [v.node.net.multiaddrs()[0]]), { committee })
  for (let i = 0; i < 100 && t.node.net.libp2p.getPeers().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  await new Promise((resolve) => setTimeout(resolve, 2500))
  const r = await v.health()
  assert.is(check(r, 'committee').status, 'ok', JSON.stringify(check(r, 'committee')))
  assert.is(check(r, 'peers').status, 'ok')
  assert.is(check(r, 'clock').status, 'ok', JSON.stringify(check(r, 'clock')))
  const rt = await t.health()
  assert.is(check(rt, 'bootstrap').status, 'ok', JSON.stringify(check(rt, 'bootstrap')))
  assert.is(check(rt, 'committee').status, 'ok')
  assert.is(rt.ok, true, JSON.stringify(rt.checks))
})

test('a disk below the free-space floor fails the disk check', async () => {
  const { health } = await start(cfg(['tenant']), { committee: [genesisCommitteeFile([generateIdentity()])], health: { minFreeBytes: Number.MAX_SAFE_INTEGER } })
  const r = await health()
  assert.ok(r.failing.includes('disk'))
  assert.match(check(r, 'disk').fix, /free space/)
})

test.run()
