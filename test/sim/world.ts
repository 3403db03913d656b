// The deterministic committee simulator: real committee nodes (real consensus, ledger, store,
// certificates) on a seeded clock, network and random source. Each seed draws a scenario:
// Byzantine validators with a strategy each (byzantine.ts), a network that is hostile until GST
// and targets locks (network.ts), honest crashes and restarts with their stores, clock drift, and
// sometimes a validator joining and leaving during the faults. Invariants are checked as things
// happen (invariants.ts); liveness once the network has been stable a while.
import { hash } from 'node:crypto'
import { signMessage } from '../../src/wire/envelope.ts'
import type { Signer, SignedMessage } from '../../src/wire/envelope.ts'
import { MessageTag } from '../../src/wire/constants.ts'
import type { OrderBody, BidBody } from '../../src/wire/index.ts'
import { identityFromSeed } from '../../src/identity/identity.ts'
import { verify as verifyNative } from '../../src/identity/ed25519.ts'
import { openStore } from '../../src/store/index.ts'
import type { Store } from '../../src/store/index.ts'
import { committeeNode, buildCommittee, signCommitteeFile, ChangeAction } from '../../src/committee/index.ts'
import type { CommitteeFile, CommitteeInfo, Verifier } from '../../src/committee/index.ts'
import { rng } from './rng.ts'
import { Scheduler } from './scheduler.ts'
import { Network } from './network.ts'
import type { NetScenario } from './network.ts'
import { Adversary, STRATEGIES } from './byzantine.ts'
import type { ByzPeer, Strategy } from './byzantine.ts'
import { Invariants } from './invariants.ts'
import { hexOf } from './peek.ts'
import { decodeCbor } from '../../src/wire/codec.ts'

export interface SimOptions {
  seed: number
  n: number
  /** real ed25519 everywhere (slow); otherwise a cheap deterministic stand-in signer */
  realCrypto?: boolean
  /** only these strategies (default: all) */
  strategies?: readonly Strategy[]
  log?: (line: string) => void
}

export interface SimResult {
  seed: number
  n: number
  steps: number
  safety: string[]
  liveness: string[]
  leases: number
  expired: number
  height: number
  scenario: string
}

const GENESIS_TIME = 1_700_000_000_000
/** batches after the one that closes an auction within which its tallies must have resolved it */
const RESOLVE_BATCHES = 2
/**
 * batches after the one that settles an auction within which its lease must be certified: the
 * finalize signatures travel once the settling batch is decided, one hop, while the next batch
 * needs a proposal and two rounds of votes, so they are in before that batch is decided
 */
const CERTIFY_BATCHES = 1
const TIMING = {
  batchIntervalMs: 100,
  proposeTimeoutMs: 150,
  proposeTimeoutDeltaMs: 50,
  voteTimeoutMs: 100,
  voteTimeoutDeltaMs: 50,
  maxTimeoutMs: 1200,
  statusIntervalMs: 200,
  fetchDelayMs: 5
}

// ---- keys (fixed per index, so the key-rule cache works across seeds) ----

const seedBytes = (tag: number, i: number): Uint8Array => { const s = new Uint8Array(32); s[0] = tag; s[1] = i; return s }
const idCache = new Map<string, ReturnType<typeof identityFromSeed>>()
function identity (tag: number, i: number): ReturnType<typeof identityFromSeed> {
  const k = `${tag}:${i}`
  let id = idCache.get(k)
  if (id == null) { id = identityFromSeed(seedBytes(tag, i)); idCache.set(k, id) }
  return id
}

function fakeSig (pk: Uint8Array, m: Uint8Array): Uint8Array {
  return new Uint8Array(hash('sha512', Buffer.concat([pk, m]), 'buffer'))
}
const fakeVerify: Verifier = (sig, m, pk) => sig.length === 64 && Buffer.compare(Buffer.from(sig), Buffer.from(fakeSig(pk, m))) === 0

function signerFor (tag: number, i: number, real: boolean): Signer {
  const id = identity(tag, i)
  return real ? { publicKey: id.publicKey, sign: id.sign } : { publicKey: id.publicKey, sign: (m) => fakeSig(id.publicKey, m) }
}

// ---- workload ----

function orderBody (maxPrice: string, deadline: number, attributes: Record<string, string>): OrderBody {
  return {
    groups: [{
      name: 'web',
      attributes,
      signedBy: { allOf: [], anyOf: [] },
      resources: [{ service: 'web', cpu: 500, memory: 512 * 1024 * 1024, storage: [], gpu: { units: 0, models: [] }, count: 1, price: { denom: 'uakt', amount: maxPrice } }],
      maxPrice: { denom: 'uakt', amount: maxPrice }
    }],
    manifestHash: new Uint8Array(32).fill(7),
    bidDeadline: deadline
  }
}

interface OrderRecord { id: string, submitAt: number, deadline: number, fittingBidAt: number }

interface Peer extends ByzPeer {
  store: Store
  rate: number
  offset: number
}

export function simulate (opts: SimOptions): SimResult {
  const n = opts.n
  const f = Math.floor((n - 1) / 3)
  const R = rng(opts.seed * 7919 + n)
  const sched = new Scheduler()
  const real = opts.realCrypto === true
  const verifier: Verifier = real ? verifyNative : fakeVerify
  const log = opts.log ?? (() => {})
  const liveness: string[] = []

  // ---- scenario ----
  const byzCount = R.chance(0.6) ? f : R.int(0, f)
  const pool = opts.strategies ?? STRATEGIES
  const byzIdx = R.shuffle([...Array(n).keys()]).slice(0, byzCount)
  const strategyOf = new Map<number, Strategy>(byzIdx.map((i) => [i, R.pick(pool)]))
  const healAt = R.int(300, 1200)
  const net: NetScenario = {
    healAt,
    loss: R.pick([0, 0, 0.05, 0.2, 0.4]),
    dup: R.pick([0, 0.05, 0.2]),
    maxDelay: R.pick([5, 30, 100, 300]),
    partitions: R.chance(0.4),
    partitionEvery: R.int(100, 500),
    lockSplit: R.pick([0, 0.5, 0.9]),
    postLockSplit: R.pick([0, 0, 0.2]),
    linkLatency: R.pick([[1, 5], [2, 15], [5, 30]] as Array<[number, number]>),
    spikeP: R.pick([0, 0.01, 0.03]),
    spikeMax: 120,
    postDelayMax: R.pick([20, 60])
  }
  const join = n + 1 <= 31 && R.chance(0.25)
  // timeouts a few times the slowest link, as an operator would set them for such a network
  const slow = net.linkLatency[1]
  const timing = { ...TIMING, proposeTimeoutMs: TIMING.proposeTimeoutMs + 3 * slow, voteTimeoutMs: TIMING.voteTimeoutMs + 2 * slow }
  const settle = (n >= 7 ? 3400 : 2800) + 20 * slow
  const endAt = healAt + settle
  const scenario = `byz=[${byzIdx.map((i) => `${i}:${strategyOf.get(i) ?? ''}`).join(',')}] heal=${healAt} loss=${net.loss} dup=${net.dup} delay<=${net.maxDelay} partitions=${net.partitions ? net.partitionEvery : 'no'} lockSplit=${net.lockSplit}/${net.postLockSplit} links=${net.linkLatency.join('-')} spikes=${net.spikeP} join=${join ? 'yes' : 'no'}`
  log(`seed ${opts.seed} n=${n} ${scenario}`)

  // ---- committee ----
  const signers = Array.from({ length: n + 1 }, (_, i) => signerFor(1, i, real))
  const genesisInfo: CommitteeInfo = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: GENESIS_TIME, validators: signers.slice(0, n).map((s) => s.publicKey) })
  const genesis: CommitteeFile = { info: genesisInfo, signatures: signers.slice(0, n).map((s) => signCommitteeFile(genesisInfo, s)) }

  // ---- peers (twins: one key, two peers; a spare key for the joiner) ----
  const peers: Peer[] = []
  const mkPeer = (name: string, key: number, strategy: Strategy | undefined): Peer => ({
    name, key, keyHex: hexOf(signers[key].publicKey), honest: strategy == null, strategy, store: openStore({ path: ':memory:' }), life: 0, up: false, rate: 1 + (R.next() - 0.5) * 0.004, offset: R.int(-20, 20)
  })
  for (let i = 0; i < n; i++) {
    peers.push(mkPeer(`v${i}`, i, strategyOf.get(i)))
    if (strategyOf.get(i) === 'twin') peers.push(mkPeer(`v${i}b`, i, 'twin'))
  }
  const joiner = join ? mkPeer(`v${n}`, n, undefined) : undefined
  if (joiner != null) peers.push(joiner)

  // the committee of a height, as the honest validators furthest ahead know it
  const committeeAt = (h: number): CommitteeInfo => {
    let best: CommitteeInfo = genesisInfo
    for (const p of peers) {
      if (!p.honest || p.node == null) continue
      const c = p.node.committeeAt(h)
      if (c.epoch > best.epoch) best = c
    }
    return best
  }

  const inv = new Invariants(verifier, committeeAt, genesis)
  const adv = new Adversary(sched, R, signers, byzIdx, committeeAt)
  const network = new Network(sched, R, net, peers, committeeAt, (p) => signers[p.key].publicKey)
  const heightOf = new Map<string, number>()

  const transportFor = (p: Peer): { broadcast: (d: Uint8Array) => void, send: (to: string, d: Uint8Array) => void } => {
    const out = (q: Peer, d: Uint8Array): void => {
      if (q === p) return
      for (const x of p.honest ? [d] : adv.rewrite(p, q, d)) network.send(p, q, x)
    }
    return {
      broadcast: (d) => {
        adv.observe(d)
        if (p.honest) inv.sent(p, d)
        // as the daemon's transport: to the validators of the latest committee and of the one before
        const latest = committeeAt(Number.MAX_SAFE_INTEGER)
        const before = latest.epoch > 0 ? committeeAt(latest.startHeight - 1) : latest
        for (const q of peers) if (latest.index.has(q.keyHex) || before.index.has(q.keyHex)) out(q, d)
      },
      send: (to, d) => {
        adv.observe(d)
        if (p.honest) inv.sent(p, d)
        const q = peers.find((x) => x.name === to)
        if (q != null) out(q, d)
      }
    }
  }

  const storedBatch = (p: Peer, h: number): { proposal: Uint8Array, commit: Uint8Array[] } | undefined => {
    const r = p.store.db.prepare('SELECT proposal, commit_votes FROM committee_batches WHERE height = ?').get(h) as any
    if (r == null) return undefined
    const commit = openCommit(r.commit_votes)
    return { proposal: new Uint8Array(r.proposal), commit }
  }

  const boot = (p: Peer): void => {
    p.life++
    p.up = true
    const life = p.life
    const clock = {
      now: () => Math.floor(GENESIS_TIME + sched.now * p.rate + p.offset),
      setTimer: (ms: number, fn: () => void) => sched.after(ms / p.rate, () => { if (p.up && p.life === life) fn() })
    }
    const node = committeeNode({ committee: genesis, ...timing })({
      signer: signers[p.key],
      store: p.store,
      clock,
      transport: transportFor(p),
      random: R.fork().next,
      verifier,
      logger: (l) => log(`${sched.now.toFixed(0)} ${p.name}: ${l}`),
      proposer: p.strategy === 'censor' ? adv.policy() : undefined
    })
    node.on('batch', (e) => {
      heightOf.set(p.name, e.height)
      network.decided(p, e.height)
      if (p.honest) inv.batch(p, e.height, e.header, () => storedBatch(p, e.height))
    })
    node.on('lease', (e) => inv.lease(p, e))
    node.on('expired', (e) => { if (p.honest) inv.expired(p, e) })
    node.on('epoch', (file) => { if (p.honest && !inv.files.has(file.info.epoch)) inv.files.set(file.info.epoch, file) })
    p.node = node
    log(`${sched.now.toFixed(0)} ${p.name}: boot (life ${p.life})`)
    node.start()
  }
  const crash = (p: Peer): void => {
    if (!p.up) return
    log(`${sched.now.toFixed(0)} ${p.name}: crash`)
    p.up = false
    p.node?.stop()
    p.node = undefined
  }

  for (const p of peers) if (p.strategy !== 'silent') boot(p)
  network.startPartitions()

  // honest crashes and restarts during the chaos (their stores survive)
  const crashes = R.int(0, 3)
  for (let c = 0; c < crashes; c++) {
    const p = R.pick(peers.filter((x) => x.honest && x !== joiner))
    if (p == null) break
    const at = R.int(0, Math.max(1, healAt - 100))
    const back = Math.min(healAt, at + R.int(30, 500))
    sched.at(at, () => crash(p))
    sched.at(back, () => { if (!p.up) boot(p) })
  }

  // amnesia: forget every signature and lock, and restart, now and then (also after GST)
  for (const p of peers.filter((x) => x.strategy === 'amnesia')) {
    const forget = (): void => {
      crash(p)
      p.store.db.exec('DELETE FROM committee_signed; DELETE FROM committee_locks')
      boot(p)
      if (sched.now < endAt - 600) sched.after(R.int(80, 400), forget)
    }
    sched.after(R.int(50, 300), forget)
  }

  // forged catch-up answers, to everyone, a few times a second
  for (const p of peers.filter((x) => x.strategy === 'forge-sync')) {
    const tick = (): void => {
      if (p.up) {
        const top = Math.max(inv.maxHeight, heightOf.get(p.name) ?? 0)
        for (const d of adv.forgeSync(p, (h) => storedBatch(p, h), top)) for (const q of peers) if (q !== p) network.send(p, q, d)
      }
      if (sched.now < endAt) sched.after(R.int(60, 200), tick)
    }
    sched.after(R.int(50, 200), tick)
  }

  // a validator joins during the faults, and leaves again later
  if (joiner != null) {
    const change = (action: ChangeAction): void => {
      if (!joiner.up || joiner.node == null) return
      const m = joiner.node.requestChange(action)
      sched.after(R.int(20, 80), () => {
        for (const p of peers) {
          if (!p.honest || p === joiner || p.node == null) continue
          try { p.node.approveChange(m.id) } catch {}
        }
      })
    }
    sched.at(R.int(100, Math.max(150, healAt - 100)), () => change(ChangeAction.JOIN))
    sched.at(healAt + R.int(200, 600), () => { if (joiner.node?.status().validator === true) change(ChangeAction.LEAVE) })
  }

  // ---- clients ----
  const tenants = [0, 1].map((i) => signerFor(2, i, real))
  const providers = [0, 1, 2].map((i) => signerFor(3, i, real))
  adv.victimProvider = providers[0].publicKey
  const orders: OrderRecord[] = []
  const submitTo = (m: SignedMessage): void => {
    const targets = peers.filter((p) => p.honest && p.up)
    if (targets.length === 0) return
    R.pick(targets).node?.submit(m)
  }
  const clientNow = (): number => GENESIS_TIME + sched.now
  let t = 10
  while (t < endAt - 1200) {
    sched.at(t, () => {
      const window = R.int(300, 1400)
      const tenant = R.pick(tenants)
      const attrs: Record<string, string> = R.chance(0.2) ? { region: 'eu' } : {}
      const order = signMessage<OrderBody>(tenant, MessageTag.ORDER, orderBody('100', clientNow() + window, attrs), { createdAt: clientNow(), nonce: new Uint8Array(16).map(() => R.int(0, 255)) })
      const rec: OrderRecord = { id: order.idHex, submitAt: sched.now, deadline: clientNow() + window, fittingBidAt: Infinity }
      orders.push(rec)
      submitTo(order)
      const bidders = R.int(0, 3)
      for (let b = 0; b < bidders; b++) {
        sched.after(R.int(5, 120), () => {
          const fits = R.chance(0.8)
          const price = fits ? String(R.int(1, 99)) + (R.chance(0.3) ? '.5' : '') : '100.000001'
          const attributes = R.chance(0.9) ? { region: 'eu' } : { region: 'us' }
          const bid = signMessage<BidBody>(providers[b], MessageTag.BID, { order: order.id, prices: [{ denom: 'uakt', amount: price }], attributes, auditors: [], expiresAt: clientNow() + 60_000 }, { createdAt: clientNow(), nonce: new Uint8Array(16).map(() => R.int(0, 255)) })
          const reallyFits = fits && (attrs.region == null || attributes.region === attrs.region)
          if (reallyFits) rec.fittingBidAt = Math.min(rec.fittingBidAt, sched.now)
          submitTo(bid)
        })
      }
    })
    t += R.int(30, 150)
  }

  // progress in time: two batches within a window that holds the longest run of failed rounds the
  // protocol allows after GST. f Byzantine proposers next to each other in the rotation fail f
  // rounds at one height, f − 1 at the next, …: f(f+1)/2 rounds in a row, each up to a propose and
  // a vote timeout, both growing per round. At f = 1 that is one round, within 1.2 s.
  const lostRounds = f * (f + 1) / 2
  const roundMs = timing.proposeTimeoutMs + timing.voteTimeoutMs + lostRounds * (TIMING.proposeTimeoutDeltaMs + TIMING.voteTimeoutDeltaMs)
  const progressWindow = 1200 + Math.max(0, lostRounds - 1) * roundMs
  let heightBeforeEnd = 0
  sched.at(endAt - progressWindow, () => { heightBeforeEnd = inv.maxHeight })
  sched.run(endAt, () => {})
  for (const p of peers) if (p.node != null) log(`end ${p.name}: ${JSON.stringify(p.node.status())}`)

  // ---- liveness: orders placed once the network had settled, with a fitting bid in good time ----
  // After its deadline an order is judged in batches, not milliseconds: the protocol bounds the
  // rounds a height takes after GST (f + 1 at most), not the time a run of heights takes. Its
  // auction closes in the first batch whose committee time reaches the deadline (committee time
  // lags the clock by a height), and resolves once f+1 validators' tallies, signed when that
  // batch is decided, are ordered: the next batch may have been proposed before they arrived,
  // the one after has them. Proposers rotate by (height + round) mod n, so f Byzantine
  // validators next to each other in the rotation cost f rounds at one height, f−1 at the next,
  // and so on; a fixed allowance of f lost rounds (seed 458 at n=7 lost three) is not a bound.
  // Progress in time is checked on its own below (batches in the last 1.2 s, nobody lagging).
  const settledFrom = healAt + (n >= 7 ? 1100 : 800) + 10 * slow
  const closedAt = (deadline: number): number | undefined => {
    for (let h = 1; h <= inv.maxHeight; h++) { const t = inv.times.get(h); if (t != null && t >= deadline) return h }
    return undefined
  }
  for (const o of orders) {
    if (o.submitAt < settledFrom) continue
    const closing = closedAt(o.deadline)
    if (closing == null || inv.maxHeight < closing + RESOLVE_BATCHES + CERTIFY_BATCHES) continue
    const leased = inv.leases.has(o.id)
    // f Byzantine proposers in a row can each cost a round (propose timeout and votes) before a bid is ordered
    const margin = 300 + f * 400 + 8 * slow
    if (o.fittingBidAt - o.submitAt <= 150 && (o.deadline - GENESIS_TIME) - o.fittingBidAt >= margin && !leased) {
      liveness.push(`order ${o.id.slice(0, 12)} (deadline +${o.deadline - GENESIS_TIME - o.submitAt} ms) had a fitting bid at +${o.fittingBidAt - o.submitAt} ms but got no lease (${inv.expiries.get(o.id) ?? 'unresolved'})`)
    } else if (!inv.resolved.has(o.id)) {
      liveness.push(`order ${o.id.slice(0, 12)} was never resolved (its deadline passed in batch ${closing}, the last is ${inv.maxHeight})`)
    }
  }
  // the validators of the last committee keep up (one that left is only a follower, served no more)
  const last = committeeAt(inv.maxHeight + 1)
  for (const p of peers) {
    if (!p.honest || !last.index.has(p.keyHex)) continue
    const h = heightOf.get(p.name) ?? 0
    if (h < inv.maxHeight - 3) liveness.push(`${p.name} lags at height ${h} of ${inv.maxHeight}`)
  }
  if (inv.maxHeight < heightBeforeEnd + 2) liveness.push(`only ${inv.maxHeight - heightBeforeEnd} batches were decided in the last ${(progressWindow / 1000).toFixed(1)} s (height ${inv.maxHeight})`)
  for (const p of peers) { crash(p); p.store.close() }
  return { seed: opts.seed, n, steps: sched.steps, safety: inv.safety, liveness: liveness.slice(0, 20), leases: inv.leases.size, expired: inv.resolved.size - inv.leases.size, height: inv.maxHeight, scenario }
}

/** the store keeps a batch's commit as a CBOR list of envelopes */
function openCommit (b: Uint8Array): Uint8Array[] {
  return (decodeCbor(new Uint8Array(b), 1 << 24, 'commit') as Uint8Array[]).map((x) => new Uint8Array(x))
}
