import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { usageMeter, usageAuditor, usageAmount, UsageDisputeError } from '../../src/market/usage.ts'
import { manualClock } from '../../src/market/clock.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { openMessage, signMessage, MessageTag, toHex } from '../../src/wire/index.ts'
import type { UsageStatementBody } from '../../src/wire/index.ts'

const provider = generateIdentity()
const tenant = generateIdentity()
const leaseId = new Uint8Array(32).fill(4)
const rate = { denom: 'uakt', amount: '0.3' } // per 6 s price period

test('amounts are time × rate per 6 s period, exact', () => {
  assert.equal(usageAmount(rate, 6_000), { denom: 'uakt', amount: '0.3' })
  assert.equal(usageAmount(rate, 60_000), { denom: 'uakt', amount: '3' })
  assert.equal(usageAmount({ denom: 'uakt', amount: '1' }, 1), { denom: 'uakt', amount: '0.000166666666666667' })
})

test('statements each period, countersigned by the tenant, with running totals', async () => {
  const clock = manualClock(1_000_000)
  const auditor = usageAuditor({ signer: tenant, clock })
  const closed: string[] = []
  const meter = usageMeter({ intervalMs: 30_000, graceMs: 90_000 })({
    signer: provider,
    clock,
    sendStatement: async (_lease, s) => {
      // over the wire and back: the tenant sees exactly the signed bytes
      const got = openMessage<UsageStatementBody>(s.bytes, { expect: MessageTag.USAGE_STATEMENT })
      const ack = auditor.handleStatement({ leaseId, provider: provider.publicKey, rate, startedAt: 1_000_000 }, got)
      meter.handleAck(openMessage(ack.bytes) as any)
    },
    closeLease: async (id) => { closed.push(id) }
  })
  meter.track({ leaseId, tenant: tenant.publicKey, rate, startedAt: clock.now() })
  meter.start()
  clock.advance(95_000)
  await new Promise((resolve) => setImmediate(resolve))
  const recs = meter.records(toHex(leaseId))
  assert.is(recs.length, 3)
  assert.equal(recs.map((r) => r.statement.body.amount.amount), ['1.5', '1.5', '1.5'])
  assert.is(recs[2].statement.body.total.amount, '4.5')
  assert.ok(recs.every((r) => r.ack != null))
  assert.is(closed.length, 0)
  meter.stop()
})

test('a lease whose statements go unanswered past the grace period is closed with the reason', async () => {
  const clock = manualClock(2_000_000)
  const closed: Array<[string, string]> = []
  const meter = usageMeter({ intervalMs: 30_000, graceMs: 60_000 })({
    signer: provider,
    clock,
    sendStatement: async () => { throw new Error('tenant unreachable') },
    closeLease: async (id, reason) => { closed.push([id, reason]) }
  })
  meter.track({ leaseId, tenant: tenant.publicKey, rate, startedAt: clock.now() })
  meter.start()
  clock.advance(120_000)
  await new Promise((resolve) => setImmediate(resolve))
  assert.is(closed.length, 1)
  assert.is(closed[0][0], toHex(leaseId))
  assert.match(closed[0][1], /usage statement 0 unanswered for 90 s \(grace 60 s\)/)
  meter.stop()
})

test('the tenant refuses to countersign a statement that does not add up', () => {
  const clock = manualClock(3_000_000)
  const auditor = usageAuditor({ signer: tenant, clock })
  const lease = { leaseId, provider: provider.publicKey, rate, startedAt: 2_930_000 }
  const body = (over: Partial<UsageStatementBody>): UsageStatementBody => ({
    lease: leaseId, sequence: 0, periodStart: 2_940_000, periodEnd: 3_000_000, rate, amount: { denom: 'uakt', amount: '3' }, total: { denom: 'uakt', amount: '3' }, ...over
  })
  const overcharge = signMessage(provider, MessageTag.USAGE_STATEMENT, body({ amount: { denom: 'uakt', amount: '4' }, total: { denom: 'uakt', amount: '4' } }))
  assert.throws(() => auditor.handleStatement(lease, overcharge), (e: any) => e instanceof UsageDisputeError && /expected 3/.test(e.message))
  const wrongRate = signMessage(provider, MessageTag.USAGE_STATEMENT, body({ rate: { denom: 'uakt', amount: '1' } }))
  assert.throws(() => auditor.handleStatement(lease, wrongRate), /differs from the agreed/)
  const stranger = signMessage(tenant, MessageTag.USAGE_STATEMENT, body({}))
  assert.throws(() => auditor.handleStatement(lease, stranger), /not by the lease's provider/)
  const good = signMessage(provider, MessageTag.USAGE_STATEMENT, body({}))
  const ack = auditor.handleStatement(lease, good)
  assert.equal(ack.body.statement, good.id)
  // a resend gets the same answer; a gap in sequence is refused
  assert.is(auditor.handleStatement(lease, good).idHex, ack.idHex)
  const gap = signMessage(provider, MessageTag.USAGE_STATEMENT, body({ sequence: 2, periodStart: 3_000_000, periodEnd: 3_000_000 + 6_000 }))
  clock.advance(10_000)
  assert.throws(() => auditor.handleStatement(lease, gap), /sequence 2, expected 1/)
})

test.run()
