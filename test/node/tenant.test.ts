// A tenant whose order meets no committee is told so once the decision is overdue, instead of
// waiting for ever.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode } from '../../src/node/create-node.ts'
import { genesisCommitteeFile } from '../../src/committee/index.ts'
import { createLogger } from '../../src/node/logger.ts'
import { defaultConfig } from '../../src/config/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { DeployError } from '../../src/node/errors.ts'

const web = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')

test('an order no validator decides ends in a timeout that says so, and the deployment records it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'souk-tenant-'))
  const c = defaultConfig()
  c.roles = ['tenant']
  c.network.listen = ['/ip4/127.0.0.1/tcp/0']
  c.network.testNetwork = true
  c.tenant.bidWindowMs = 200
  c.tenant.decisionTimeoutMs = 300
  const committee = [genesisCommitteeFile(Array.from({ length: 4 }, () => generateIdentity()))]
  const logger = createLogger({ level: 'error', destination: process.stderr })
  // a peer that listens for orders (a tenant too), so the order is published; no validator runs
  const peer = await createNode({ home: join(root, 'peer'), config: { roles: ['tenant'], network: { testNetwork: true } }, committee, logger })
  c.network.bootstrap = [peer.net.multiaddrs()[0]]
  const tenant = await createNode({ home: join(root, 'tenant'), config: c, committee, logger })
  try {
    await tenant.ready({ timeoutMs: 20_000 })
    const started = Date.now()
    try {
      await tenant.tenant!.deploy(web)
      assert.unreachable('deployed without a committee')
    } catch (err: any) {
      assert.instance(err, DeployError)
      assert.is(err.code, 'ERR_DEPLOY_TIMEOUT')
      assert.match(err.message, /committee did not decide on the order within 300 ms of its bid deadline/)
      assert.match(err.message, /souk committee status/)
    }
    assert.ok(Date.now() - started >= 500, 'waited for the bid window and the decision timeout')
    const [d] = tenant.tenant!.list()
    assert.is(d.state, 'expired')
    assert.match(d.reason ?? '', /did not decide/)
  } finally {
    await tenant.stop()
    await peer.stop()
    rmSync(root, { recursive: true, force: true })
  }
})

test('a tenant no peer listens to publishes nothing and says why', async () => {
  const root = mkdtempSync(join(tmpdir(), 'souk-tenant-'))
  const committee = [genesisCommitteeFile(Array.from({ length: 4 }, () => generateIdentity()))]
  const tenant = await createNode({ home: root, config: { roles: ['tenant'], network: { testNetwork: true }, tenant: { decisionTimeoutMs: 300 } }, committee, logger: createLogger({ level: 'error', destination: process.stderr }) })
  try {
    const err = await tenant.tenant!.deploy(web).then(() => undefined, (e: unknown) => e)
    assert.instance(err, DeployError)
    assert.is((err as DeployError).code, 'ERR_NO_PEERS')
    assert.match((err as DeployError).message, /nothing was published/)
    assert.is(tenant.tenant!.list().length, 0, 'no deployment recorded')

    // aborted while it waits for a listener: the abort's reason, and still nothing published
    const slow = await createNode({ home: join(root, 'slow'), config: { roles: ['tenant'], network: { testNetwork: true }, tenant: { decisionTimeoutMs: 60_000 } }, committee, logger: createLogger({ level: 'error', destination: process.stderr }) })
    try {
      const reason = new Error('the user gave up')
      const ac = new AbortController()
      setTimeout(() => ac.abort(reason), 200)
      const aborted = await slow.tenant!.deploy(web, { signal: ac.signal }).then(() => undefined, (e: unknown) => e)
      assert.is(aborted, reason)
      assert.is(slow.tenant!.list().length, 0, 'no deployment recorded')
      assert.is(slow.book.openOrders(Date.now()).length, 0, 'no order recorded')
    } finally { await slow.stop() }
  } finally {
    await tenant.stop()
    rmSync(root, { recursive: true, force: true })
  }
})

test.run()
