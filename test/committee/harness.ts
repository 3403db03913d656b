// A small in-process cluster for committee tests: real nodes, real ed25519, real sqlite stores,
// a perfect network with a few ms of delay, all on the simulator's seeded scheduler.
import { signMessage } from '../../src/wire/envelope.ts'
import type { SignedMessage } from '../../src/wire/envelope.ts'
import { MessageTag } from '../../src/wire/constants.ts'
import type { OrderBody, BidBody, Price } from '../../src/wire/index.ts'
import { identityFromSeed } from '../../src/identity/identity.ts'
import type { Identity } from '../../src/identity/identity.ts'
import { openStore } from '../../src/store/index.ts'
import type { Store } from '../../src/store/index.ts'
import { committeeNode, buildCommittee, signCommitteeFile } from '../../src/committee/index.ts'
import type { CommitteeNode, CommitteeFile, LeaseEvent, Expiry, ProposerPolicy, CommitteeNodeInit } from '../../src/committee/index.ts'
import { Scheduler } from '../sim/scheduler.ts'
import { rng } from '../sim/rng.ts'

export const GENESIS_TIME = 1_700_000_000_000

export function key (tag: number, i: number): Identity {
  const s = new Uint8Array(32); s[0] = tag; s[1] = i; s[2] = 0x5a
  return identityFromSeed(s)
}

export interface Member {
  name: string
  id: Identity
  store: Store
  node?: CommitteeNode
  leases: LeaseEvent[]
  expired: Expiry[]
  heights: number[]
}

export interface Cluster {
  sched: Scheduler
  genesis: CommitteeFile
  members: Member[]
  /** peers that drop everything they would send */
  mute: Set<string>
  /** when set and true for a frame, the network loses it */
  lose?: (from: string, to: string, data: Uint8Array) => boolean
  /** every frame each member sent, in order */
  sent: Map<string, Uint8Array[]>
  now: () => number
  add: (name: string, id: Identity, store?: Store) => Member
  boot: (m: Member) => void
  crash: (m: Member) => void
  run: (ms: number) => void
  submit: (m: SignedMessage) => void
  close: () => void
}

export const FAST = { batchIntervalMs: 50, idleBatchIntervalMs: 50, proposeTimeoutMs: 150, proposeTimeoutDeltaMs: 50, voteTimeoutMs: 100, voteTimeoutDeltaMs: 50, maxTimeoutMs: 800, statusIntervalMs: 200, fetchDelayMs: 5 }

export function cluster (n: number, opts: { seed?: number, timing?: Partial<typeof FAST>, proposers?: Record<string, ProposerPolicy>, init?: Partial<CommitteeNodeInit> } = {}): Cluster {
  const sched = new Scheduler()
  const R = rng(opts.seed ?? 1)
  const ids = Array.from({ length: n }, (_, i) => key(1, i))
  const info = buildCommittee({ epoch: 0, startHeight: 1, genesisTime: GENESIS_TIME, validators: ids.map((i) => i.publicKey) })
  const genesis: CommitteeFile = { info, signatures: ids.map((i) => signCommitteeFile(info, i)) }
  const members: Member[] = []
  const mute = new Set<string>()
  const sent = new Map<string, Uint8Array[]>()
  const record = (name: string, d: Uint8Array): void => { const l = sent.get(name) ?? []; l.push(d); sent.set(name, l) }
  const lives = new Map<string, number>()
  const now = (): number => GENESIS_TIME + Math.floor(sched.now)
  const c: Cluster = {
    sched,
    genesis,
    members,
    mute,
    sent,
    now,
    add: (name, id, store) => {
      const m: Member = { name, id, store: store ?? openStore({ path: ':memory:' }), leases: [], expired: [], heights: [] }
      members.push(m)
      return m
    },
    boot: (m) => {
      const life = (lives.get(m.name) ?? 0) + 1
      lives.set(m.name, life)
      const alive = (): boolean => lives.get(m.name) === life && m.node != null
      const deliver = (to: Member, data: Uint8Array): void => {
        if (c.lose?.(m.name, to.name, data) === true) return
        const toLife = lives.get(to.name)
        sched.after(R.int(1, 5), () => { if (lives.get(to.name) === toLife) to.node?.handleMessage(m.name, data, m.id.publicKey) })
      }
      const node = committeeNode({ committee: genesis, ...FAST, ...opts.timing, ...opts.init })({
        signer: m.id,
        store: m.store,
        clock: { now, setTimer: (ms, fn) => sched.after(ms, () => { if (alive()) fn() }) },
        transport: {
          broadcast: (d) => { record(m.name, d); if (!mute.has(m.name)) for (const o of members) if (o !== m) deliver(o, d) },
          send: (to, d) => { record(m.name, d); const o = members.find((x) => x.name === to); if (o != null && !mute.has(m.name)) deliver(o, d) }
        },
        random: R.fork().next,
        proposer: opts.proposers?.[m.name]
      })
      node.on('lease', (e) => m.leases.push(e))
      node.on('expired', (e) => m.expired.push(e))
      node.on('batch', (e) => m.heights.push(e.height))
      m.node = node
      node.start()
    },
    crash: (m) => {
      m.node?.stop()
      m.node = undefined
      lives.set(m.name, (lives.get(m.name) ?? 0) + 1)
    },
    run: (ms) => sched.run(sched.now + ms, () => {}),
    submit: (msg) => { for (const m of members) m.node?.submit(msg) },
    close: () => { for (const m of members) { m.node?.stop(); m.store.close() } }
  }
  ids.forEach((id, i) => c.add(`v${i}`, id))
  return c
}

let nonce = 0
const nextNonce = (): Uint8Array => { const b = new Uint8Array(16); new DataView(b.buffer).setUint32(0, ++nonce); return b }

export function group (maxPrice: Price, attributes: Record<string, string> = {}): OrderBody['groups'][number] {
  return {
    name: 'web',
    attributes,
    signedBy: { allOf: [], anyOf: [] },
    resources: [{ service: 'web', cpu: 500, memory: 1 << 29, storage: [], gpu: { units: 0, models: [] }, count: 1, price: maxPrice }],
    maxPrice
  }
}

export function order (tenant: Identity, createdAt: number, deadline: number, groups = [group({ denom: 'uakt', amount: '100' })]): SignedMessage<OrderBody> {
  return signMessage<OrderBody>(tenant, MessageTag.ORDER, { groups, manifestHash: new Uint8Array(32).fill(1), bidDeadline: deadline }, { createdAt, nonce: nextNonce() })
}

export function bid (provider: Identity, o: SignedMessage<OrderBody>, createdAt: number, prices: Price[], attributes: Record<string, string> = {}): SignedMessage<BidBody> {
  return signMessage<BidBody>(provider, MessageTag.BID, { order: o.id, prices, attributes, auditors: [], expiresAt: createdAt + 3_600_000 }, { createdAt, nonce: nextNonce() })
}
