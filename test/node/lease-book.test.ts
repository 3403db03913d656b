// What a tenant or provider believes from the leases topic: certificates only when 2f+1
// validators of the committee file signed them, expiries only when f+1 validators say so,
// closes only from the lease's tenant or provider.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cluster, key, order, bid } from '../committee/harness.ts'
import { leaseBook } from '../../src/node/lease-book.ts'
import type { LeaseBook } from '../../src/node/lease-book.ts'
import { signMessage, MessageTag, toHex } from '../../src/wire/index.ts'
import type { SignedMessage, LeaseCertificateBody } from '../../src/wire/index.ts'
import { Topic } from '../../src/net/index.ts'
import type { SoukGossip } from '../../src/net/index.ts'

/** the slice of gossip the book uses: it only subscribes; the test delivers */
function feed (): { gossip: SoukGossip, deliver: (topic: string, m: SignedMessage) => void } {
  const handlers = new Map<string, Array<(m: SignedMessage) => void>>()
  const gossip = { onMessage: (topic: string, h: (m: SignedMessage) => void) => { handlers.set(topic, [...(handlers.get(topic) ?? []), h]); return () => {} } } as unknown as SoukGossip
  return { gossip, deliver: (topic, m) => { for (const h of handlers.get(topic) ?? []) h(m) } }
}

const c = cluster(4)
for (const m of c.members) c.boot(m)
const tenant = key(2, 0)
const provider = key(3, 0)
const o = order(tenant, c.now(), c.now() + 400)
c.submit(o)
const b = bid(provider, o, c.now() + 10, [{ denom: 'uakt', amount: '30' }])
c.submit(b)
c.run(1500)
const cert: LeaseCertificateBody = c.members[0].leases[0].certificate
c.close()

function book (): { book: LeaseBook, deliver: (topic: string, m: SignedMessage) => void } {
  const f = feed()
  return { book: leaseBook({ committee: () => [c.genesis] })({ gossip: f.gossip }), deliver: f.deliver }
}

test('a certificate signed by 2f+1 validators makes the lease; a tampered one is ignored', async () => {
  const { book: bk, deliver } = book()
  const courier = key(9, 0) // anyone may relay a certificate: the signatures inside decide
  const forged = { ...cert, signatures: cert.signatures.slice(0, 2) }
  deliver(Topic.LEASES, signMessage(courier, MessageTag.LEASE_CERTIFICATE, forged))
  assert.is(bk.lease(o.idHex), undefined)
  assert.is(bk.rejected(), 1)
  const outcome = bk.outcome(o.idHex)
  deliver(Topic.LEASES, signMessage(courier, MessageTag.LEASE_CERTIFICATE, cert))
  const got = await outcome
  assert.is(got.kind, 'lease')
  assert.is(bk.lease(o.idHex)?.provider, toHex(provider.publicKey))
})

test('an expiry counts once f+1 validators state it, and never from outsiders', async () => {
  const { book: bk, deliver } = book()
  const other = order(tenant, c.now(), c.now() + 400)
  const body = { order: other.id, code: 'no-bids', reason: 'no bid was ordered before the bid deadline', height: 9 }
  deliver(Topic.LEASES, signMessage(key(9, 1), MessageTag.ORDER_EXPIRED, body))
  deliver(Topic.LEASES, signMessage(c.members[0].id, MessageTag.ORDER_EXPIRED, body))
  deliver(Topic.LEASES, signMessage(c.members[0].id, MessageTag.ORDER_EXPIRED, body))
  assert.is(bk.expiry(other.idHex), undefined, 'one validator (twice) and an outsider are not enough with f = 1')
  deliver(Topic.LEASES, signMessage(c.members[1].id, MessageTag.ORDER_EXPIRED, body))
  assert.is(bk.expiry(other.idHex)?.code, 'no-bids')
})

test('only the lease\'s tenant or provider can close it', () => {
  const { book: bk, deliver } = book()
  deliver(Topic.LEASES, signMessage(key(9, 0), MessageTag.LEASE_CERTIFICATE, cert))
  deliver(Topic.LEASES, signMessage(key(9, 2), MessageTag.CLOSE, { lease: o.id, reason: 'not yours' }))
  assert.is(bk.lease(o.idHex)?.state, 'active')
  deliver(Topic.LEASES, signMessage(tenant, MessageTag.CLOSE, { lease: o.id, reason: 'done' }))
  assert.is(bk.lease(o.idHex)?.state, 'closed')
  assert.is(bk.lease(o.idHex)?.closedBy, 'tenant')
})

test('a certificate of an epoch the chain does not reach yet is held until the chain grows', async () => {
  // the book's chain stops short of the certificate's epoch, as on a node whose announcement of
  // the new committee is still on its way
  let files: typeof c.genesis[] = []
  const f = feed()
  const bk = leaseBook({ committee: () => files })({ gossip: f.gossip })
  const outcome = bk.outcome(o.idHex)
  f.deliver(Topic.LEASES, signMessage(key(9, 0), MessageTag.LEASE_CERTIFICATE, cert))
  assert.is(bk.lease(o.idHex), undefined)
  assert.is(bk.rejected(), 0, 'held, not refused')
  files = [c.genesis]
  bk.committeeChanged()
  assert.is((await outcome).kind, 'lease')
  // a certificate that still does not verify once its epoch is known is refused then
  const other = order(tenant, c.now(), c.now() + 400)
  f.deliver(Topic.LEASES, signMessage(key(9, 0), MessageTag.LEASE_CERTIFICATE, { ...cert, order: other.id, epoch: 1 }))
  assert.is(bk.rejected(), 0)
  files = [c.genesis, { ...c.genesis, info: { ...c.genesis.info, epoch: 1 } }]
  bk.committeeChanged()
  assert.is(bk.lease(other.idHex), undefined)
  assert.is(bk.rejected(), 1)
})

test.run()
