// A closed lease stays closed: exec into its containers (which may still be stopping) is refused
// before anything starts, as soon as the provider's node knows of the close. And a tenant's
// malformed frame ends its own session, never the provider's process.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster, key, order, bid } from '../committee/harness.ts'
import { signMessage, MessageTag } from '../../src/wire/index.ts'
import type { LeaseCertificateBody } from '../../src/wire/index.ts'
import { leaseBook } from '../../src/node/lease-book.ts'
import { handleExec, openExec } from '../../src/net/index.ts'
import { startNode, stopAll } from '../net/helpers.ts'
import * as lp from 'it-length-prefixed'
import { encodeCbor } from '../../src/wire/index.ts'

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
    }, { isClosed: (id) => book.lease(id)?.state === 'closed' })
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

test('a malformed stdin frame ends the exec session, and only that', async () => {
  const provider = await startNode()
  const tenant = await startNode()
  try {
    let ended = false
    // the command's handle, as a runtime would give it: it reads stdin and outputs nothing for a while
    await handleExec(provider, async () => ({
      stdin: { write: () => {}, end: () => { ended = true } },
      output: (async function * () { await new Promise((resolve) => setTimeout(resolve, 1500)) })(),
      exitCode: new Promise<number>((resolve) => setTimeout(() => resolve(0), 1500))
    }), { isClosed: () => false })
    await tenant.dial(provider.multiaddrs()[0])
    const stream = await tenant.libp2p.dialProtocol(provider.peerId, '/souk/exec/1.0.0')
    stream.send(lp.encode.single(encodeCbor({ t: 'souk/exec-request', v: 1, lease: new Uint8Array(32), service: 'web', command: ['sh'], tty: false })))
    await new Promise((resolve) => setTimeout(resolve, 300))
    stream.send(lp.encode.single(encodeCbor({ t: 'souk/exec-stdin', v: 1, data: 'not bytes' })))
    for (let i = 0; i < 40 && !ended; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    assert.ok(ended, 'the session\'s stdin was ended')
    // this process is the provider: it is still here, and still serves
    assert.ok((await tenant.libp2p.dialProtocol(provider.peerId, '/souk/exec/1.0.0')) != null)
  } finally {
    await stopAll([provider, tenant])
  }
})

test.run()
