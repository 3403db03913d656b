// A tenant picks up, when it starts, every deployment a crash or a stop cut: the records are
// written into its store as a crash leaves them, then a real node starts on that home beside a
// peer (real libp2p on loopback, real gossip, a certificate the in-memory committee signed).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode } from '../../src/node/create-node.ts'
import type { Souk } from '../../src/node/create-node.ts'
import { createLogger } from '../../src/node/logger.ts'
import { records } from '../../src/node/records.ts'
import type { Deployment } from '../../src/node/tenant/index.ts'
import { openStore } from '../../src/store/index.ts'
import { signMessage, openMessage, MessageTag } from '../../src/wire/index.ts'
import type { LeaseCertificateBody, CloseBody, OrderBody, SignedMessage } from '../../src/wire/index.ts'
import { peerIdOfPublicKey } from '../../src/identity/index.ts'
import { cluster, key, order, bid } from '../committee/harness.ts'

// a lease the committee certified: tenant key(2, 0), provider key(3, 0) (no node runs it)
const c = cluster(4)
for (const m of c.members) c.boot(m)
const tenantKey = key(2, 0)
const providerKey = key(3, 0)
const orders = [0, 1, 2].map(() => order(tenantKey, c.now(), c.now() + 400))
for (const o of orders) {
  c.submit(o)
  c.submit(bid(providerKey, o, c.now() + 10, [{ denom: 'uakt', amount: '30' }]))
}
c.run(1500)
const certs = orders.map((o) => c.members[0].leases.find((l: any) => Buffer.from(l.certificate.order).equals(o.id))!.certificate as LeaseCertificateBody)
c.close()
const committee = [c.genesis]
const logger = createLogger({ level: 'error', destination: process.stderr })
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** a deployment record as the tenant saves it */
function record (o: SignedMessage<OrderBody>, over: Partial<Deployment>): Deployment {
  return { order: o.idHex, state: 'ordering', createdAt: Date.now(), bidDeadline: o.body.bidDeadline, totals: '1 CPU', orderBytes: o.bytes, manifest: new Uint8Array([0xa0]), bids: 0, ...over }
}

/** a peer (a tenant node of another key), and a tenant whose home holds `saved` when it starts */
async function world (saved: Deployment[], opts: { decisionTimeoutMs?: number } = {}): Promise<{ tenant: () => Souk, peer: Souk, start: () => Promise<void>, stop: () => Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), 'souk-tenant-resume-'))
  const peer = await createNode({ home: join(root, 'peer'), config: { roles: ['tenant'], network: { testNetwork: true } }, committee, logger })
  const home = join(root, 'tenant')
  let tenant: Souk | undefined
  return {
    tenant: () => tenant!,
    peer,
    async start () {
      // the store as the crash left it
      mkdirSync(home, { recursive: true })
      const store = openStore({ path: join(home, 'store.db') })
      const rs = records<Deployment>(store, 'tenant-deployment')
      for (const d of saved) rs.put(d.order, d)
      store.close()
      tenant = await createNode({ home, identity: tenantKey, config: { roles: ['tenant'], network: { testNetwork: true, bootstrap: [peer.net.multiaddrs()[0]] }, tenant: { decisionTimeoutMs: opts.decisionTimeoutMs ?? 20_000 } }, committee, logger })
    },
    async stop () {
      await tenant?.stop()
      await peer.stop()
      rmSync(root, { recursive: true, force: true })
    }
  }
}

async function until (what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (ok()) return
  assert.unreachable(`timed out waiting for ${what}`)
}
const cert = (i: number, by: Souk): SignedMessage<LeaseCertificateBody> => signMessage(by.identity, MessageTag.LEASE_CERTIFICATE, certs[i])

test('an order whose lease was certified while the tenant was down: learned from a peer on start, its manifest sent, failed with the reason and closed when the provider is gone', async () => {
  const w = await world([record(orders[0], { state: 'ordering' })])
  try {
    // the peer saw the certificate; the tenant, down, did not
    w.peer.book.record(cert(0, w.peer))
    await w.start()
    const d = (): Deployment | undefined => w.tenant().tenant!.get(orders[0].idHex)
    await until('the deployment to end', () => d()?.state === 'failed')
    assert.is(d()?.provider, peerIdOfPublicKey(providerKey.publicKey).toString())
    assert.match(d()?.reason ?? '', /unreachable/)
    // nobody pays for it: the Close reached the peer's book by gossip
    await until('the Close to reach the peer', () => w.peer.book.lease(orders[0].idHex)?.state === 'closed')
    assert.is(w.peer.book.lease(orders[0].idHex)?.closedBy, 'tenant')
    // the direct close to the gone provider fails after its dial gives up; then the Close is let go
    await until('the sent Close to be forgotten', () => d()?.close === undefined)
  } finally { await w.stop() }
})

test('a lease certified after the tenant gave up on its order is closed at once, with a reason the list shows', async () => {
  const w = await world([record(orders[1], { state: 'expired', reason: 'the committee did not decide on the order within 15 s of its bid deadline' })])
  try {
    w.peer.book.record(cert(1, w.peer))
    await w.start()
    const d = (): Deployment | undefined => w.tenant().tenant!.get(orders[1].idHex)
    await until('the late lease to close', () => d()?.state === 'closed')
    assert.match(d()?.reason ?? '', /certified after the tenant had given up waiting for it \(the committee did not decide .*\); closed at once so that nobody pays for it/)
    assert.is(d()?.provider, peerIdOfPublicKey(providerKey.publicKey).toString())
    await until('the Close to reach the peer', () => w.peer.book.lease(orders[1].idHex)?.state === 'closed')
    assert.match(w.peer.book.lease(orders[1].idHex)?.closeReason ?? '', /certified after the tenant had given up/)
  } finally { await w.stop() }
})

test('a close cut by a crash (saved as closing, nothing sent) is sent when the tenant starts, then saved as closed', async () => {
  const close = signMessage<CloseBody>(tenantKey, MessageTag.CLOSE, { lease: orders[2].id, reason: 'done with it' })
  const w = await world([record(orders[2], { state: 'closing', provider: peerIdOfPublicKey(providerKey.publicKey).toString(), close: close.bytes, closedAt: close.createdAt })])
  try {
    w.peer.book.record(cert(2, w.peer))
    await w.start()
    const d = (): Deployment | undefined => w.tenant().tenant!.get(orders[2].idHex)
    await until('the close to finish', () => d()?.state === 'closed')
    assert.is(d()?.reason, 'done with it')
    assert.is(d()?.closedAt, close.createdAt, 'billing ends when the close was made, not when it was sent')
    await until('the Close to reach the peer', () => w.peer.book.lease(orders[2].idHex)?.state === 'closed')
    assert.is(w.peer.book.lease(orders[2].idHex)?.closeReason, 'done with it')
  } finally { await w.stop() }
})

test('an order saved but not published before the crash is published on start, and expires with the reason when no committee decides', async () => {
  const fresh = signMessage<OrderBody>(tenantKey, MessageTag.ORDER, { ...orders[0].body, bidDeadline: Date.now() + 15_000 })
  const w = await world([record(fresh, { state: 'ordering' })], { decisionTimeoutMs: 300 })
  try {
    await w.start()
    await until('the peer to see the order', () => w.peer.book.order(fresh.idHex) != null)
    assert.equal(openMessage(w.peer.book.order(fresh.idHex)!.bytes).idHex, fresh.idHex)
    const d = (): Deployment | undefined => w.tenant().tenant!.get(fresh.idHex)
    await until('the order to expire', () => d()?.state === 'expired', 45_000)
    assert.match(d()?.reason ?? '', /did not decide on the order within 300 ms/)
  } finally { await w.stop() }
})

test.run()
