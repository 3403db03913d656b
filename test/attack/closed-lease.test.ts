// A closed lease stays closed: exec into its containers (which may still be stopping) is refused
// before anything starts, as soon as the provider's node knows of the close.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster, key, order, bid } from '../committee/harness.ts'
import { signMessage, MessageTag } from '../../src/wire/index.ts'
import type { LeaseCertificateBody } from '../../src/wire/index.ts'
import { leaseBook } from '../../src/node/lease-book.ts'
import { handleExec, openExec } from '../../src/node/exec-protocol.ts'
import { startNode, stopAll } from '../net/helpers.ts'

// a lease the committee certified, as every node sees it on the leases topic
const c = cluster(4)
for (const m of c.members) c.boot(m)
const tenantKey = key(2, 0)
const o = order(tenantKey, c.now(), c.now() + 400)
c.submit(o)
c.submit(bid(key(3, 0), o, c.now() + 10, [{ denom: 'uakt', amount: '30' }]))
c.run(1500)
const cert: LeaseCertificateBody = c.members[0].leases[0].certificate
c.close()

test('exec on a closed lease is refused with ERR_LEASE_CLOSED; on an open one it reaches the runtime', async () => {
  const provider = await startNode()
  const tenant = await startNode({ identity: tenantKey })
  try {
    const book = leaseBook({ committee: () => [c.genesis] })({ gossip: provider.gossip })
    book.record(signMessage(key(9, 0), MessageTag.LEASE_CERTIFICATE, cert))
    assert.is(book.lease(o.idHex)?.state, 'active')
    const started: string[] = []
    await handleExec(provider, async (_remote, req) => {
      started.push(Buffer.from(req.lease).toString('hex'))
      // where the runtime would start the command; the test only needs to know it got this far
      throw Object.assign(new Error('the runtime was asked to start the command'), { code: 'ERR_REACHED_RUNTIME' })
    })
    await tenant.dial(provider.multiaddrs()[0])
    const attempt = async (): Promise<string> => {
      const h = await openExec(tenant, provider.peerId, { lease: o.id, service: 'web', command: ['sh'], tty: false })
      try {
        for await (const _ of h.output) { /* nothing arrives */ }
        return `exit ${await h.exitCode}`
      } catch (err: any) {
        return String(err.code)
      }
    }
    assert.is(await attempt(), 'ERR_REACHED_RUNTIME')
    // the tenant closes the lease; the provider's node records the Close
    book.record(signMessage(tenantKey, MessageTag.CLOSE, { lease: o.id, reason: 'done' }))
    assert.is(book.lease(o.idHex)?.state, 'closed')
    assert.is(await attempt(), 'ERR_LEASE_CLOSED')
    assert.is(started.length, 1, 'nothing reached the runtime after the close')
  } finally {
    await stopAll([provider, tenant])
  }
})

test.run()
