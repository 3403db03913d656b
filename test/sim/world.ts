// The deterministic committee simulator: real committee nodes (real consensus, ledger, store,
// certificates) on a seeded clock, network and random source. Faults: crashes and restarts with
// their stores, equivocating twins, silent and vote-withholding validators, a proposer that
// forges batches, changing partitions, loss, delay, reordering, duplication and clock drift.
// Invariants are checked after every step; liveness once the network has been stable a while.
import { hash } from 'node:crypto'
import { signMessage, openMessage } from '../../src/wire/envelope.ts'
import type { Signer, SignedMessage } from '../../src/wire/envelope.ts'
import { MessageTag } from '../../src/wire/constants.ts'
import type { OrderBody, BidBody } from '../../src/wire/index.ts'
import { identityFromSeed } from '../../src/identity/identity.ts'
import { verify as verifyNative } from '../../src/identity/ed25519.ts'
import { openStore } from '../../src/store/index.ts'
import type { Store } from '../../src/store/index.ts'
import {
  committeeNode, buildCommittee, signCommitteeFile, verifyLeaseCertificate, decodeFrame, encodeFrame, CommitteeTag
} from '../../src/committee/index.ts'
import type { CommitteeNode, CommitteeFile, CommitteeInfo, Verifier, ProposalBody } from '../../src/committee/index.ts'
import { rng } from './rng.ts'
import type { Rng } from './rng.ts'
import { Scheduler } from './scheduler.ts'

export interface SimOptions {
  seed: number
  n: number
  /** real ed25519 everywhere (slow); otherwise a cheap deterministic stand-in signer */
  realCrypto?: boolean
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

type Behaviour = 'honest' | 'twin' | 'silent' | 'withhold' | 'forge'

const GENESIS_TIME = 1_700_000_000_000
const TIMING = {
  batchIntervalMs: 100,
  proposeTimeoutMs: 150,
  proposeTimeoutDeltaMs: 50,
  voteTimeoutMs: 100,
  voteTimeoutDeltaMs: 50,
  maxTimeoutMs: 800,
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

// ---- the world ----

interface Peer {
  name: string
  key: number
  behaviour: Behaviour
  store: Store
  node?: CommitteeNode
  /** instance counter: deliveries to a crashed instance are lost */
  life: number
  up: boolean
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
  const safety: string[] = []
  const liveness: string[] = []

  // scenario
  const byzCount = R.int(0, f)
  const behaviours: Behaviour[] = Array.from({ length: n }, () => 'honest')
  const byzIdx = R.shuffle([...Array(n).keys()]).slice(0, byzCount)
  for (const i of byzIdx) behaviours[i] = R.pick(['twin', 'silent', 'withhold', 'forge'] as const)
  const healAt = R.int(300, 1200)
  const chaos = {
    loss: R.pick([0, 0, 0.05, 0.2, 0.4]),
    dup: R.pick([0, 0.05, 0.2]),
    maxDelay: R.pick([5, 30, 100, 300]),
    partitions: R.chance(0.5),
    partitionEvery: R.int(100, 500)
  }
  const settle = n >= 7 ? 2800 : 2200
  const endAt = healAt + settle
  const scenario = `byz=[${byzIdx.map((i) => `${i}:${behaviours[i]}`).join(',')}] heal=${healAt} loss=${chaos.loss} dup=${chaos.dup} delay<=${chaos.maxDelay} partitions=${chaos.partitions ? chaos.partitionEvery : 'no'}`
  log(`seed ${opts.seed} n=${n} ${scenario}`)

  // committee
  const validatorSigners = Array.from({ length: n }, (_, i) => signerFor(1, i, real))
  const genesisInfo: CommitteeInfo = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: GENESIS_TIME, validators: validatorSigners.map((s) => s.publicKey) })
  const genesis: CommitteeFile = { info: genesisInfo, signatures: validatorSigners.map((s) => signCommitteeFile(genesisInfo, s)) }

  // peers (twins: one key, two peers)
  const peers: Peer[] = []
  const mkPeer = (name: string, key: number, behaviour: Behaviour): Peer => ({
    name, key, behaviour, store: openStore({ path: ':memory:' }), life: 0, up: false, rate: 1 + (R.next() - 0.5) * 0.004, offset: R.int(-20, 20)
  })
  for (let i = 0; i < n; i++) {
    peers.push(mkPeer(`v${i}`, i, behaviours[i]))
    if (behaviours[i] === 'twin') peers.push(mkPeer(`v${i}b`, i, 'twin'))
  }
  const byName = new Map(peers.map((p) => [p.name, p]))
  const honest = (p: Peer): boolean => p.behaviour === 'honest'

  // network
  let groups: Map<string, number> | null = null
  const healed = (): boolean => sched.now >= healAt
  const reshuffle = (): void => {
    if (healed() || !chaos.partitions) { groups = null; return }
    groups = new Map(peers.map((p) => [p.name, R.int(0, 1)]))
    sched.after(chaos.partitionEvery, reshuffle)
  }
  const deliver = (from: Peer, to: Peer, data: Uint8Array): void => {
    if (!healed()) {
      if (groups != null && groups.get(from.name) !== groups.get(to.name)) return
      if (R.chance(chaos.loss)) return
    }
    const copies = !healed() && R.chance(chaos.dup) ? 2 : 1
    for (let c = 0; c < copies; c++) {
      const delay = healed() ? R.int(1, 8) : R.int(1, chaos.maxDelay)
      const life = to.life
      sched.after(delay, () => { if (to.up && to.life === life) to.node?.handleMessage(from.name, data) })
    }
  }
  const outgoing = (p: Peer, data: Uint8Array): Uint8Array | null => {
    if (p.behaviour === 'honest' || p.behaviour === 'twin') return data
    if (p.behaviour === 'silent') return null
    let frame
    try { frame = decodeFrame(data) } catch { return data }
    if (frame.kind !== 'msg') return data
    if (p.behaviour === 'withhold') {
      return R.chance(0.7) ? null : data
    }
    // forge: proposals leave with a lease root of its own choosing, re-signed
    try {
      const opened = openProposal(frame.body)
      if (opened == null) return data
      const forged: ProposalBody = { ...opened.body, leaseRoot: new Uint8Array(32).map(() => R.int(0, 255)) }
      const m = signMessage(validatorSigners[p.key], CommitteeTag.PROPOSAL, forged, { createdAt: opened.createdAt, nonce: opened.nonce })
      return encodeFrame({ kind: 'msg', body: m.bytes })
    } catch {
      return data
    }
  }
  const transportFor = (p: Peer): { broadcast: (d: Uint8Array) => void, send: (to: string, d: Uint8Array) => void } => ({
    broadcast: (d) => {
      const out = outgoing(p, d)
      if (out == null) return
      for (const q of peers) if (q !== p) deliver(p, q, out)
    },
    send: (to, d) => {
      const q = byName.get(to)
      const out = outgoing(p, d)
      if (q != null && out != null) deliver(p, q, out)
    }
  })

  // invariants
  const batches = new Map<number, string>()
  const leases = new Map<string, string>()
  const resolved = new Set<string>()
  const expiries = new Map<string, string>()
  const files = new Map<number, CommitteeFile>([[0, genesis]])
  let maxHeight = 0
  const heightOf = new Map<string, number>()

  const boot = (p: Peer): void => {
    p.life++
    p.up = true
    const life = p.life
    const clock = {
      now: () => Math.floor(GENESIS_TIME + sched.now * p.rate + p.offset),
      setTimer: (ms: number, fn: () => void) => sched.after(ms / p.rate, () => { if (p.up && p.life === life) fn() })
    }
    const node = committeeNode({ committee: genesis, ...TIMING })({
      signer: validatorSigners[p.key],
      store: p.store,
      clock,
      transport: transportFor(p),
      random: R.fork().next,
      verifier,
      logger: (l) => log(`${sched.now.toFixed(0)} ${p.name}: ${l}`)
    })
    node.on('batch', (e) => {
      const h = e.height
      const hx = Buffer.from(e.header).toString('hex')
      heightOf.set(p.name, h)
      if (!honest(p)) return
      maxHeight = Math.max(maxHeight, h)
      const prev = batches.get(h)
      if (prev == null) batches.set(h, hx)
      else if (prev !== hx) safety.push(`honest validators disagree on batch ${h}: ${prev.slice(0, 12)} vs ${hx.slice(0, 12)} (${p.name})`)
    })
    node.on('lease', ({ lease, certificate }) => {
      const file = files.get(certificate.epoch)
      const verdict = file == null ? { ok: false, reason: 'no committee file for its epoch' } : verifyLeaseCertificate(certificate, file, { verifier })
      if (!verdict.ok) safety.push(`${p.name} produced an invalid certificate: ${verdict.reason}`)
      const o = Buffer.from(lease.order).toString('hex')
      const v = `${Buffer.from(lease.bid).toString('hex')}@${Buffer.from(certificate.batch).toString('hex')}`
      const prev = leases.get(o)
      if (prev == null) leases.set(o, v)
      else if (prev !== v) safety.push(`two certificates for order ${o.slice(0, 12)}: ${prev.slice(0, 24)} and ${v.slice(0, 24)}`)
      resolved.add(o)
    })
    node.on('expired', (e) => {
      const o = Buffer.from(e.order).toString('hex')
      if (leases.has(o) && honest(p)) safety.push(`order ${o.slice(0, 12)} both leased and expired`)
      resolved.add(o)
      expiries.set(o, e.reason)
    })
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

  for (const p of peers) if (p.behaviour !== 'silent') boot(p)
  reshuffle()

  // honest crashes and restarts during the chaos (their stores survive)
  const crashes = R.int(0, 3)
  for (let c = 0; c < crashes; c++) {
    const p = R.pick(peers.filter(honest))
    if (p == null) break
    const at = R.int(0, Math.max(1, healAt - 100))
    const back = Math.min(healAt, at + R.int(30, 500))
    sched.at(at, () => crash(p))
    sched.at(back, () => { if (!p.up) boot(p) })
  }

  // clients
  const tenants = [0, 1].map((i) => signerFor(2, i, real))
  const providers = [0, 1, 2].map((i) => signerFor(3, i, real))
  const orders: OrderRecord[] = []
  const submitTo = (m: SignedMessage): void => {
    const targets = peers.filter((p) => honest(p) && p.up)
    if (targets.length === 0) return
    R.pick(targets).node?.submit(m)
  }
  const clientNow = (): number => GENESIS_TIME + sched.now
  let t = 10
  while (t < endAt - 1200) {
    const at = t
    sched.at(at, () => {
      const window = R.int(300, 1400)
      const tenant = R.pick(tenants)
      const attrs: Record<string, string> = R.chance(0.2) ? { region: 'eu' } : {}
      const order = signMessage<OrderBody>(tenant, MessageTag.ORDER, orderBody('100', clientNow() + window, attrs), { createdAt: clientNow(), nonce: new Uint8Array(16).map(() => R.int(0, 255)) })
      const rec: OrderRecord = { id: order.idHex, submitAt: sched.now, deadline: clientNow() + window, fittingBidAt: Infinity }
      orders.push(rec)
      submitTo(order)
      const bidders = R.int(0, 3)
      for (let b = 0; b < bidders; b++) {
        const delay = R.int(5, 120)
        sched.after(delay, () => {
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

  let heightBeforeEnd = 0
  sched.at(endAt - 1200, () => { heightBeforeEnd = maxHeight })
  sched.run(endAt, () => {})
  for (const p of peers) if (p.node != null) log(`end ${p.name}: ${JSON.stringify(p.node.status())}`)

  // liveness: orders placed once the network had settled, with a fitting bid in good time
  const settledFrom = healAt + (n >= 7 ? 1100 : 800)
  for (const o of orders) {
    if (o.submitAt < settledFrom) continue
    // deciding the batch after a deadline can itself meet f Byzantine proposers in a row
    if (o.deadline - GENESIS_TIME > endAt - (600 + f * 400)) continue
    const leased = leases.has(o.id)
    // f Byzantine proposers in a row can each cost a round (propose timeout and votes) before a bid is ordered
    const margin = 250 + f * 350
    if (o.fittingBidAt - o.submitAt <= 150 && (o.deadline - GENESIS_TIME) - o.fittingBidAt >= margin && !leased) {
      liveness.push(`order ${o.id.slice(0, 12)} (deadline +${o.deadline - GENESIS_TIME - o.submitAt} ms) had a fitting bid at +${o.fittingBidAt - o.submitAt} ms but got no lease (${expiries.get(o.id) ?? 'unresolved'})`)
    } else if (!resolved.has(o.id)) {
      liveness.push(`order ${o.id.slice(0, 12)} was never resolved`)
    }
  }
  for (const p of peers) {
    if (!honest(p)) continue
    const h = heightOf.get(p.name) ?? 0
    if (h < maxHeight - 3) liveness.push(`${p.name} lags at height ${h} of ${maxHeight}`)
  }
  // f silent proposers in a row cost a few rounds each; two batches in 1.2 s is still progress
  if (maxHeight < heightBeforeEnd + 2) liveness.push(`only ${maxHeight - heightBeforeEnd} batches were decided in the last 1.2 s (height ${maxHeight})`)
  for (const p of peers) { crash(p); p.store.close() }
  return { seed: opts.seed, n, steps: sched.steps, safety, liveness, leases: leases.size, expired: [...resolved].length - leases.size, height: maxHeight, scenario }
}

function openProposal (bytes: Uint8Array): SignedMessage<ProposalBody> | undefined {
  try {
    // the forger reads its own proposal: no need to verify
    const m = openMessage(bytes, { trusted: true })
    return m.tag === CommitteeTag.PROPOSAL ? m as SignedMessage<ProposalBody> : undefined
  } catch {
    return undefined
  }
}
