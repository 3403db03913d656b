// The chaos invariants must be able to fail: each rule is shown a world broken the way it guards
// against (signatures read from real committee stores, lease views as the nodes report them) and
// must name the break; the healthy world passes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateIdentity } from '../../src/identity/index.ts'
import { signMessage, toHex } from '../../src/wire/index.ts'
import { openStore } from '../../src/store/index.ts'
import { committeePersistence, CommitteeTag, VoteType } from '../../src/committee/index.ts'
import type { VoteBody } from '../../src/committee/index.ts'
import { committeeView } from '../../bench/chaos/stores.ts'
import { SignatureLedger, checkLeases, countBy } from '../../bench/chaos/invariants.ts'
import type { LeaseWorld } from '../../bench/chaos/invariants.ts'

const v0 = generateIdentity()
const v1 = generateIdentity()
const keys = [toHex(v0.publicKey), toHex(v1.publicKey)]
const h = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const vote = (id: typeof v0, type: VoteType, height: number, round: number, value: Uint8Array): Uint8Array =>
  signMessage<VoteBody>(id, CommitteeTag.VOTE, { epoch: 0, height, round, type, value }).bytes

/** a validator's store: its own signed rows, and final batches with the precommits kept for them */
function store (own: Array<{ kind: 'prevote' | 'precommit' | 'finalize' | 'file', height: number, round: number, value: Uint8Array }>, batches: Array<{ height: number, hash: Uint8Array, commit: Uint8Array[] }> = []): ReturnType<typeof openStore> {
  const s = openStore({ path: ':memory:' })
  const p = committeePersistence(s)
  for (const b of batches) p.saveBatch({ height: b.height, hash: b.hash, proposal: new Uint8Array([0]), commit: b.commit }, [])
  for (const r of own) p.recordSigned({ ...r, bytes: new Uint8Array([1]) })
  return s
}

test('signatures: the same slot signed twice alike is fine; two values in one slot, before and after a crash, is a conflict', () => {
  const L = new SignatureLedger()
  const before = store([{ kind: 'prevote', height: 7, round: 0, value: h(1) }])
  L.addView(committeeView(before.db, keys[0], 'validator-0 (before)'), keys, 'validator-0 (before)')
  L.addView(committeeView(before.db, keys[0], 'validator-0 (again)'), keys, 'validator-0 (again)')
  assert.equal(L.violations, [])
  // the restarted process lost its row and signed nil in the same slot
  const after = store([{ kind: 'prevote', height: 7, round: 0, value: new Uint8Array(0) }])
  L.addView(committeeView(after.db, keys[0], 'validator-0 (after)'), keys, 'validator-0 (after)')
  assert.is(L.violations.length, 1)
  assert.is(L.violations[0].rule, 'conflicting-signature')
  assert.match(L.violations[0].detail, /signed 010101010101 \(validator-0 \(before\)\) and nil \(validator-0 \(after\)\)/)
})

test('signatures: a finalize or committee-file signature made again over something else after a crash is a conflict', () => {
  for (const kind of ['finalize', 'file'] as const) {
    const L = new SignatureLedger()
    const before = store([{ kind, height: 2, round: 0, value: h(3) }])
    L.addView(committeeView(before.db, keys[0], 'before'), keys, 'before')
    const after = store([{ kind, height: 2, round: 0, value: h(4) }])
    L.addView(committeeView(after.db, keys[0], 'after'), keys, 'after')
    assert.equal(L.violations.map((v) => `${v.rule} ${v.subject.split(' ').slice(1).join(' ')}`), [`conflicting-signature ${kind} h2 r0`], kind)
  }
})

test('signatures: a precommit another validator kept with a final batch conflicts with what the signer\'s own store says', () => {
  const L = new SignatureLedger()
  const mine = store([{ kind: 'precommit', height: 3, round: 1, value: h(2) }])
  const theirs = store([], [{ height: 3, hash: h(9), commit: [vote(v0, VoteType.PRECOMMIT, 3, 1, h(9)), vote(v1, VoteType.PRECOMMIT, 3, 1, h(9))] }])
  L.addView(committeeView(mine.db, keys[0], 'validator-0'), keys, 'validator-0')
  L.addView(committeeView(theirs.db, keys[1], 'validator-1'), keys, 'validator-1')
  assert.is(L.violations.length, 1)
  assert.match(L.violations[0].subject, / precommit h3 r1$/)
  assert.is(countBy(L.violations).conflicting_votes, 1)
})

test('signatures: two final batches at one height are a fork; evidence a validator kept counts', () => {
  const L = new SignatureLedger()
  const a = store([], [{ height: 4, hash: h(4), commit: [] }])
  const b = store([], [{ height: 4, hash: h(5), commit: [] }])
  L.addView(committeeView(a.db, keys[0], 'a'), keys, 'a')
  L.addView(committeeView(b.db, keys[1], 'b'), keys, 'b')
  assert.equal(L.violations.map((v) => v.rule), ['fork'])
  const e = store([])
  committeePersistence(e).saveEvidence('k', new Uint8Array([1, 2]))
  L.addView(committeeView(e.db, keys[0], 'e'), keys, 'e')
  assert.equal(L.violations.map((v) => v.rule), ['fork', 'evidence'])
})

const T = 'a'.repeat(64)
const P0 = 'b'.repeat(64)
const P1 = 'c'.repeat(64)
const O = '1'.repeat(64)
function healthy (): LeaseWorld {
  return {
    tenant: [{ order: O, state: 'running', provider: 'peer-p0' }],
    providers: [
      { name: 'provider-0', key: P0, peerId: 'peer-p0', owner: 'souk-p0', leases: [{ lease: O, state: 'running' }] },
      { name: 'provider-1', key: P1, peerId: 'peer-p1', owner: 'souk-p1', leases: [] }
    ],
    decided: { leases: new Map([[O, { order: O, tenant: T, provider: P0, height: 5 }]]), expired: new Map(), closed: new Map(), height: 9 },
    docker: [
      { kind: 'network', name: 'n', lease: O, owner: 'souk-p0' },
      { kind: 'container', name: 'c0', lease: O, owner: 'souk-p0', service: 'web', replica: '0', generation: '1', running: true }
    ],
    replicas: () => 1
  }
}
const rules = (w: LeaseWorld): string[] => checkLeases(w).map((v) => `${v.counter}/${v.rule}`)

test('leases: a healthy world passes', () => {
  assert.equal(rules(healthy()), [])
  const closed = healthy()
  closed.tenant[0].state = 'closed'
  closed.providers[0].leases[0] = { lease: O, state: 'closed', closeReason: 'closed by the tenant' }
  closed.docker = []
  assert.equal(rules(closed), [])
})

test('leases: each break is named', () => {
  const cases: Array<[string, (w: LeaseWorld) => void, string[]]> = [
    ['the tenant lost its record', (w) => { w.tenant = [] }, ['leases_lost/lost']],
    ['the provider does not know the lease', (w) => { w.providers[0].leases = []; w.docker = [] }, ['leases_lost/lost']],
    ['a second provider runs it', (w) => { w.providers[1].leases = [{ lease: O, state: 'running' }] }, ['leases_lost/two-providers']],
    ['the tenant holds it twice', (w) => { w.tenant.push({ ...w.tenant[0] }) }, ['leases_lost/duplicated']],
    ['its container is gone', (w) => { w.docker = w.docker.filter((x) => x.kind !== 'container') }, ['leases_lost/container-missing']],
    ['its container stopped', (w) => { w.docker[1].running = false }, ['leases_lost/container-missing']],
    ['closed by the tenant, running at the provider', (w) => { w.tenant[0].state = 'closed' }, ['diverged_views/diverged']],
    ['running for the tenant, closed at the provider', (w) => { w.providers[0].leases[0].state = 'closed'; w.docker = [] }, ['diverged_views/diverged']],
    ['the tenant is stuck', (w) => { w.tenant[0].state = 'leased' }, ['diverged_views/stuck']],
    ['the tenant thinks it expired', (w) => { w.tenant[0].state = 'expired' }, ['diverged_views/diverged']],
    ['failed without a reason', (w) => { w.tenant[0].state = 'failed'; w.providers[0].leases[0].state = 'closed'; w.docker = [] }, ['diverged_views/diverged']],
    ['a container of a lease the provider does not hold', (w) => { w.docker.push({ kind: 'container', name: 'x', lease: '2'.repeat(64), owner: 'souk-p1', running: true }) }, ['orphans/orphan']],
    ['a volume left by a closed lease', (w) => { w.tenant[0].state = 'closed'; w.providers[0].leases[0].state = 'closed'; w.docker = [{ kind: 'volume', name: 'v', lease: O, owner: 'souk-p0' }] }, ['orphans/orphan']],
    ['two generations of one replica', (w) => { w.docker.push({ ...w.docker[1], name: 'c0-g2', generation: '2' }) }, ['orphans/stale-replica']],
    ['running with no lease made', (w) => { w.decided.leases.clear(); w.providers[0].leases = []; w.docker = [] }, ['diverged_views/phantom']],
    ['a provider holds a lease the committee never made', (w) => { w.providers[1].leases = [{ lease: '5'.repeat(64), state: 'closed' }] }, ['leases_lost/phantom']],
    ['an order never decided, still ordering', (w) => { w.tenant.push({ order: '3'.repeat(64), state: 'ordering' }) }, ['diverged_views/stuck']]
  ]
  for (const [name, breakIt, expected] of cases) {
    const w = healthy()
    breakIt(w)
    assert.equal(rules(w), expected, name)
  }
})

test.run()
