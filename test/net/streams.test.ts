// The direct stream protocols between two real nodes: /souk/manifest/1.0.0 and /souk/lease/1.0.0.
// Authority is the noise-authenticated remote peer: only the lease's tenant gets anywhere.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as lp from 'it-length-prefixed'
import { sha256, signMessage, MessageTag, encodeCbor } from '../../src/wire/index.ts'
import { FrameStream, NetErrorCode, Protocol, ManifestRefusal, tenantManifestCallback, accept, refuse, peerIsKey, leaseStatus, leaseLogs, leaseClose, leaseEvents, NetError, LeaseErrorCode } from '../../src/net/index.ts'
import type { SoukNode, LeaseTerms, LeaseLogLine } from '../../src/net/index.ts'
import { startNode, stopAll, waitFor } from './helpers.ts'

const manifest = new TextEncoder().encode('{"services":{"web":{"image":"souk/busybox:latest"}}}')
const leaseId = sha256(new TextEncoder().encode('lease-1'))
// as large as the largest deployment file of the corpus makes (metal-validator: 18 KiB), and more
const bigManifest = new TextEncoder().encode(JSON.stringify({ services: { web: { image: 'souk/busybox:latest', env: Array.from({ length: 2000 }, (_, i) => `VAR_${i}=${'v'.repeat(40)}`) } } }))
const bigLease = sha256(new TextEncoder().encode('lease-big'))
const otherLease = sha256(new TextEncoder().encode('lease-2'))

let provider: SoukNode, tenant: SoukNode, stranger: SoukNode
const received: Uint8Array[] = []
const closed: string[] = []
let followAborted = false

test.before(async () => {
  provider = await startNode()
  tenant = await startNode()
  stranger = await startNode()
  const leases = new Map<string, LeaseTerms>([
    [Buffer.from(leaseId).toString('hex'), { tenant: tenant.identity.publicKey, manifestHash: sha256(manifest) }],
    [Buffer.from(bigLease).toString('hex'), { tenant: tenant.identity.publicKey, manifestHash: sha256(bigManifest) }]
  ])
  const lookup = (id: Uint8Array): LeaseTerms | undefined => leases.get(Buffer.from(id).toString('hex'))
  await provider.handleManifest({
    onManifest: tenantManifestCallback(lookup, (_peer, frame) => { received.push(frame.manifest); return accept() }),
    timeoutMs: 500
  })
  await provider.handleLease({
    service: {
      authorize: (peer, req) => {
        const terms = lookup(req.lease)
        if (terms == null) return refuse(LeaseErrorCode.UNKNOWN_LEASE, 'no such lease')
        return peerIsKey(peer, terms.tenant) ? accept() : refuse(LeaseErrorCode.NOT_AUTHORIZED, 'only the tenant')
      },
      status: () => ({ services: [{ name: 'web', ready: 1, urls: ['http://127.0.0.1:8080'] }] }),
      logs: async function * (_lease, opts): AsyncGenerator<LeaseLogLine> {
        const lines = opts.tail ?? 3
        for (let i = 0; i < lines; i++) yield { service: 'web', replica: 'web-0', stream: 'stdout', line: `line ${i}` }
        if (!opts.follow) return
        // a followed log waits for more; it must be released when the reader goes away
        for (let i = 0; i < 200 && !opts.signal.aborted; i++) await new Promise((resolve) => setTimeout(resolve, 25))
        followAborted = opts.signal.aborted
      },
      events: async function * () { yield { type: 'start', time: Date.now(), service: 'web' } },
      close: (lease, close) => { closed.push(Buffer.from(lease).toString('hex') + ':' + close.body.reason) }
    }
  })
  await tenant.dial(provider.multiaddrs()[0])
  await stranger.dial(provider.multiaddrs()[0])
})

test.after(async () => { await stopAll([provider, tenant, stranger]) })

test('the tenant\'s manifest with the order\'s hash is accepted', async () => {
  const r = await tenant.sendManifest(provider.peerId, { lease: leaseId, manifest, sequence: 0 })
  assert.equal(r, { ok: true })
  assert.equal(received.at(-1), manifest)
})

test('a manifest of ~100 KiB goes through whole (the answer is small, the request is not)', async () => {
  assert.ok(bigManifest.length > 90_000)
  assert.equal(await tenant.sendManifest(provider.peerId, { lease: bigLease, manifest: bigManifest, sequence: 0 }), { ok: true })
  assert.equal(received.at(-1), bigManifest)
})

test('a peer that is not the lease\'s tenant is refused', async () => {
  const n = received.length
  const r = await stranger.sendManifest(provider.peerId, { lease: leaseId, manifest, sequence: 0 })
  assert.is(r.ok, false)
  assert.is(!r.ok && r.code, ManifestRefusal.NOT_TENANT)
  assert.is(received.length, n, 'the application never saw it')
})

test('a manifest whose hash differs from the order\'s is refused', async () => {
  const other = new TextEncoder().encode('{"services":{"web":{"image":"evil"}}}')
  const r = await tenant.sendManifest(provider.peerId, { lease: leaseId, manifest: other, sequence: 0 })
  assert.is(!r.ok && r.code, ManifestRefusal.HASH_MISMATCH)
})

test('an unknown lease and a malformed frame are refused with their codes', async () => {
  const r = await tenant.sendManifest(provider.peerId, { lease: otherLease, manifest, sequence: 0 })
  assert.is(!r.ok && r.code, ManifestRefusal.UNKNOWN_LEASE)
  const stream = await tenant.libp2p.dialProtocol(provider.peerId, Protocol.MANIFEST)
  stream.send(lp.encode.single(encodeCbor({ t: 'souk/manifest-frame', v: 1, lease: 'nope' })))
  await stream.close()
  const frames = []
  for await (const f of lp.decode(stream)) frames.push(f.subarray())
  assert.is(frames.length, 1)
  const { decodeCbor } = await import('../../src/wire/index.ts')
  const res = decodeCbor(frames[0], 4096) as Record<string, unknown>
  assert.is(res.ok, false)
  assert.is(res.code, ManifestRefusal.MALFORMED)
})

test('a silent client is cut off by the handler\'s timeout', async () => {
  const stream = await tenant.libp2p.dialProtocol(provider.peerId, Protocol.MANIFEST)
  const started = Date.now()
  let chunks = 0
  try {
    for await (const _ of stream) chunks++
  } catch {
    // reset by the remote: that is the expected end
  }
  assert.is(chunks, 0)
  assert.ok(Date.now() - started < 5_000, 'ended by the 500 ms handler timeout, well before the test limit')
})

test('lease status: the tenant gets it, a stranger is not authorized', async () => {
  const s = await leaseStatus(tenant.libp2p, provider.peerId, leaseId) as any
  assert.is(s.services[0].name, 'web')
  try {
    await leaseStatus(stranger.libp2p, provider.peerId, leaseId)
    assert.unreachable('stranger got the status')
  } catch (err: any) {
    assert.instance(err, NetError)
    assert.is(err.code, 'ERR_NET_NOT_AUTHORIZED')
  }
})

test('lease logs stream; a followed log is released when the reader stops', async () => {
  const lines: string[] = []
  for await (const l of leaseLogs(tenant.libp2p, provider.peerId, leaseId, { tail: 2 })) lines.push(l.line)
  assert.equal(lines, ['line 0', 'line 1'])
  const followed: string[] = []
  for await (const l of leaseLogs(tenant.libp2p, provider.peerId, leaseId, { follow: true, tail: 3 })) {
    followed.push(l.line)
    if (followed.length === 3) break
  }
  assert.is(followed.length, 3)
  for (let i = 0; i < 100 && !followAborted; i++) await new Promise((resolve) => setTimeout(resolve, 25))
  assert.ok(followAborted, 'the provider\'s log source saw the abort')
  const evs = []
  for await (const e of leaseEvents(tenant.libp2p, provider.peerId, leaseId)) evs.push(e)
  assert.is(evs[0].type, 'start')
})

test('close needs a signed Close for the same lease', async () => {
  const close = signMessage(tenant.identity, MessageTag.CLOSE, { lease: leaseId, reason: 'done' })
  await leaseClose(tenant.libp2p, provider.peerId, close)
  assert.equal(closed, [Buffer.from(leaseId).toString('hex') + ':done'])
  const wrong = signMessage(tenant.identity, MessageTag.CLOSE, { lease: otherLease, reason: 'x' })
  const rs = []
  for await (const r of tenant.leaseRequest(provider.peerId, { type: 'close', lease: leaseId, close: wrong.bytes })) rs.push(r)
  assert.equal(rs.map((r) => r.kind), ['error'])
  assert.is(closed.length, 1)
})

test('a Close signed by anyone but the requester closes nothing, even sent by the tenant', async () => {
  const before = closed.length
  // a valid Close for this lease, signed by a stranger, carried by the lease's own tenant
  const forged = signMessage(stranger.identity, MessageTag.CLOSE, { lease: leaseId, reason: 'closed by a stranger' })
  const rs = []
  for await (const r of tenant.leaseRequest(provider.peerId, { type: 'close', lease: leaseId, close: forged.bytes })) rs.push(r)
  assert.equal(rs, [{ kind: 'error', code: LeaseErrorCode.NOT_AUTHORIZED, reason: 'the Close message is not signed by the requesting peer' }])
  // and the stranger sending its own Close is not the tenant
  const own = []
  for await (const r of stranger.leaseRequest(provider.peerId, { type: 'close', lease: leaseId, close: forged.bytes })) own.push(r)
  assert.is(own[0].kind, 'error')
  assert.is(closed.length, before)
})

test('a frame whose length prefix is over the limit is refused from the prefix alone', async () => {
  const errors: string[] = []
  await provider.libp2p.handle('/souk-test/frame-limit/1.0.0', (stream) => {
    const fs = new FrameStream(stream, { maxFrameBytes: 1024 })
    fs.read().then(() => errors.push('read'), (err: any) => { errors.push(String(err?.code)); fs.abort(err) })
  })
  try {
    const stream = await stranger.libp2p.dialProtocol(provider.peerId, '/souk-test/frame-limit/1.0.0')
    // a prefix announcing 1 MiB and a few bytes of it: the rest never comes
    const prefix = lp.encode.single(new Uint8Array(1024 * 1024)).subarray()
    stream.send(prefix.subarray(0, 16))
    assert.ok(await waitFor(() => errors.length > 0, 5_000), 'the reader still waits for the 1 MiB')
    assert.equal(errors, [NetErrorCode.FRAME_TOO_LARGE])
  } finally {
    await provider.libp2p.unhandle('/souk-test/frame-limit/1.0.0')
  }
})

test.run()
