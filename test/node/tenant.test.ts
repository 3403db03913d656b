// A tenant whose order meets no committee is told so once the decision is overdue, instead of
// waiting for ever.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode } from '../../src/node.ts'
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
  const tenant = await createNode({ home: root, config: c, committee, logger: createLogger({ level: 'error', destination: process.stderr }) })
  try {
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
    rmSync(root, { recursive: true, force: true })
  }
})

test.run()
