// A tenant deploying more files at once than a provider bids on for one tenant (8 open orders):
// the node queues its own orders, and every deployment gets its lease and runs, where without
// the queue the orders past the provider's bound would get no bid and expire.
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
import { generateIdentity } from '../../src/identity/index.ts'
import { dockerRuntime } from '../../src/runtime/index.ts'
import { DEFAULT_MAX_RESERVATIONS_PER_TENANT } from '../../src/market/index.ts'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { marketConfig, startValidators } from '../helpers/network.ts'

const docker = dockerFromEnv()
const DEPLOYS = DEFAULT_MAX_RESERVATIONS_PER_TENANT + 3
// the web example, small enough that the provider has room for all of them on two cores
const small = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')
  .replace(/units: 0\.25/, 'units: 0.05').replace(/size: 64Mi/, 'size: 16Mi').replace(/size: 128Mi/, 'size: 16Mi')

if (docker == null) {
  skipNotice('test/node/many-deploys.test.ts')
} else {
  const root = mkdtempSync(join(tmpdir(), 'souk-many-'))
  const nodes: Souk[] = []
  const logger = createLogger({ level: 'error', destination: process.stderr })
  const validators = Array.from({ length: 4 }, () => generateIdentity())
  const committee = [genesisCommitteeFile(validators)]
  const instance = `souk-test-${randomBytes(4).toString('hex')}`

  test.after(async () => {
    for (const n of nodes.reverse()) await n.stop().catch(() => {})
    rmSync(root, { recursive: true, force: true })
    // the leases outlive the nodes by design: their containers and networks go here (a network
    // left behind takes one of the engine's few address pools)
    const filters = { label: [`souk.instance=${instance}`] }
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {})
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => {})
  })

  test(`${DEPLOYS} deployments at once from one tenant: the ones past ${DEFAULT_MAX_RESERVATIONS_PER_TENANT} wait their turn, and all of them run`, async () => {
    const started = await startValidators({ root, identities: validators, committee, logger, config: marketConfig })
    nodes.push(...started.nodes)
    const runtime = dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance, pull: 'never' })({})
    const provider = await createNode({ home: join(root, 'p'), config: marketConfig(['provider'], started.boot), committee, logger, runtime })
    nodes.push(provider)
    const tenant = await createNode({ home: join(root, 't'), config: marketConfig(['tenant'], started.boot), committee, logger })
    nodes.push(tenant)
    for (let i = 0; i < 100 && (tenant.net.gossip.meshPeers('/souk/1/orders').length === 0 || provider.net.gossip.meshPeers('/souk/1/bids').length === 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }

    const queued: number[] = []
    const results = await Promise.allSettled(Array.from({ length: DEPLOYS }, async (_, i) => await tenant.tenant!.deploy(small, {
      onProgress: (e) => { if (e.type === 'deploy:queued') queued.push(i) }
    })))
    const failed = results.flatMap((r, i) => r.status === 'rejected' ? [`deploy ${i}: ${String(r.reason?.message ?? r.reason)}`] : [])
    assert.equal(failed, [], failed.join('\n'))
    for (const r of results) if (r.status === 'fulfilled') assert.is(r.value.state, 'running')
    assert.is(queued.length, DEPLOYS - DEFAULT_MAX_RESERVATIONS_PER_TENANT, `queued: ${queued.join(',')}`)
  })

  test.run()
}
