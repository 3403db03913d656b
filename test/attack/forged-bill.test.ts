// The forged bill: a provider (or anyone it lets sign for it) sends the tenant usage statements
// the lease does not support — signed by another key, starting in 1970, skipping a period, or
// going on after the lease closed. The tenant's node must refuse to countersign each, and say why.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { peerIdFromString } from '@libp2p/peer-id'
import { signMessage, MessageTag, toHex } from '../../src/wire/index.ts'
import type { Price, UsageStatementBody } from '../../src/wire/index.ts'
import { usageAuditor, usageAmount, addAmounts, manualClock, UsageDisputeError } from '../../src/market/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import type { Identity } from '../../src/identity/index.ts'
import { sendUsage } from '../../src/net/index.ts'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { startCluster, web } from './cluster.ts'
import type { Cluster } from './cluster.ts'

const add = (a: Price, b: Price): Price => ({ denom: a.denom, amount: addAmounts(a.amount, b.amount) })

function statement (signer: Identity, lease: Uint8Array, rate: Price, sequence: number, periodStart: number, periodEnd: number, before: Price): ReturnType<typeof signMessage<UsageStatementBody>> {
  const amount = usageAmount(rate, periodEnd - periodStart)
  return signMessage<UsageStatementBody>(signer, MessageTag.USAGE_STATEMENT, { lease, sequence, periodStart, periodEnd, rate, amount, total: add(before, amount) }, { createdAt: periodEnd })
}

test('the auditor refuses what the lease does not support, naming the rule', () => {
  const clock = manualClock(10_000_000)
  const tenant = generateIdentity()
  const provider = generateIdentity()
  const mallory = generateIdentity()
  const lease = new Uint8Array(32).fill(3)
  const rate = { denom: 'uakt', amount: '0.3' }
  const zero = { denom: 'uakt', amount: '0' }
  const a = usageAuditor({ signer: tenant, clock })
  const terms = { leaseId: lease, provider: provider.publicKey, rate, startedAt: 9_000_000 }
  const rule = (f: () => unknown): string => { try { f(); return 'countersigned' } catch (err: any) { assert.instance(err, UsageDisputeError); return `${String(err.rule)}: ${String(err.message)}` } }
  // from 1970 to now, signed by someone who is not the lease's provider
  assert.match(rule(() => a.handleStatement(terms, statement(mallory, lease, rate, 0, 0, 10_000_000, zero))), /^signer: statement 0: is signed by .*not by the lease's provider/)
  // the same from the provider: before the lease began
  assert.match(rule(() => a.handleStatement(terms, statement(provider, lease, rate, 0, 0, 10_000_000, zero))), /^before-lease: statement 0: period starts at 1970-01-01T00:00:00.000Z, before the lease started/)
  // the honest first statement
  const first = statement(provider, lease, rate, 0, 9_000_500, 9_600_000, zero)
  assert.is(rule(() => a.handleStatement(terms, first)), 'countersigned')
  // a gap, then a period that overlaps the last
  assert.match(rule(() => a.handleStatement(terms, statement(provider, lease, rate, 1, 9_700_000, 9_800_000, first.body.total))), /^contiguous:/)
  assert.match(rule(() => a.handleStatement(terms, statement(provider, lease, rate, 1, 9_500_000, 9_800_000, first.body.total))), /^contiguous:/)
  // another statement numbered like one already countersigned
  assert.match(rule(() => a.handleStatement(terms, statement(provider, lease, rate, 0, 9_000_500, 9_700_000, zero))), /^sequence: .*different statement/)
  // after the close: the period may end at the close (plus the clock skew), never later
  const closed = { ...terms, closedAt: 9_700_000 }
  const upToClose = statement(provider, lease, rate, 1, 9_600_000, 9_700_000, first.body.total)
  assert.is(rule(() => a.handleStatement(closed, upToClose)), 'countersigned')
  clock.advance(500_000)
  assert.match(rule(() => a.handleStatement(closed, statement(provider, lease, rate, 2, 9_700_000, 10_400_000, upToClose.body.total))), /^after-close: statement 2: period ends at .*after the lease closed/)
  // and in the future
  assert.match(rule(() => a.handleStatement(terms, statement(provider, lease, rate, 2, 9_700_000, 10_600_000, upToClose.body.total))), /^future:/)
})

const docker = dockerFromEnv()
if (docker == null) {
  skipNotice('test/attack/forged-bill.test.ts (real nodes)')
} else {
  let c: Cluster
  test.before(async () => {
    // no statements from the provider's own meter during the test: the test sends them
    c = await startCluster({ usageIntervalMs: 3_600_000 })
  })
  test.after(async () => { await c?.stop() })

  test('a tenant node countersigns only the provider\'s statements that match the lease', async () => {
    const d = await c.tenant.tenant!.deploy(web)
    assert.is(d.state, 'running')
    const lease = Buffer.from(d.order, 'hex')
    const tenantPeer = peerIdFromString(c.tenant.peerId)
    const rate = { denom: d.prices![0].denom, amount: addAmounts(...d.prices!.map((p) => p.amount)) }
    const zero = { denom: rate.denom, amount: '0' }
    const send = async (s: ReturnType<typeof statement>): Promise<string> => {
      const a = await sendUsage(c.provider.net, tenantPeer, s)
      return a.ok ? 'countersigned' : `${a.code}: ${a.reason}`
    }
    const now = Date.now()
    // from 1970 to now, signed by a key that is not the lease's provider, sent by the provider's node
    const mallory = generateIdentity()
    assert.match(await send(statement(mallory, lease, rate, 0, 0, now, zero)), /^ERR_USAGE_DISPUTED: statement 0: is signed by .* not by the lease's provider/)
    // the same, signed by the provider: billing from before the lease
    assert.match(await send(statement(c.provider.identity, lease, rate, 0, 0, now, zero)), /^ERR_USAGE_DISPUTED: statement 0: period starts at 1970-01-01T00:00:00\.000Z, before the lease started/)
    // an honest statement from when the manifest went out is countersigned
    const first = statement(c.provider.identity, lease, rate, 0, d.startedAt!, now, zero)
    assert.is(await send(first), 'countersigned')
    assert.equal(c.tenant.tenant!.usage(d.order).map((u) => u.sequence), [0])
    // a period that does not follow the last one
    assert.match(await send(statement(c.provider.identity, lease, rate, 1, now + 5_000, now + 10_000, first.body.total)), /^ERR_USAGE_DISPUTED: statement 1: period starts at .* not where statement 0 ended/)
    // after the close, no period may run on past it
    await c.tenant.tenant!.close(d.order, 'test done')
    const closedAt = c.tenant.tenant!.get(d.order)!.closedAt!
    assert.ok(closedAt >= now)
    assert.match(await send(statement(c.provider.identity, lease, rate, 1, now, closedAt + 31_000, first.body.total)), /^ERR_USAGE_DISPUTED: statement 1: period ends at .*(after the lease closed|in the future)/)
    assert.equal(c.tenant.tenant!.usage(d.order).map((u) => u.sequence), [0], 'nothing else was countersigned')
    // and the closed lease's containers are out of reach
    const h = await c.tenant.tenant!.exec(d.order, { service: 'web', command: ['echo', 'still here'] })
    let code = ''
    try { for await (const _ of h.output) { /* nothing */ } } catch (err: any) { code = String(err.code) }
    assert.is(code, 'ERR_LEASE_CLOSED')
    void toHex
  })
}

test.run()
