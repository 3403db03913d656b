// The simulated network. Before GST (global stabilisation time) it loses, duplicates, delays and
// reorders messages, splits the peers into changing partitions, and plays an adversary that
// targets locks: for a chosen (height, round) it keeps the polka from the next round's proposer
// and lets only one peer see a quorum of precommits, so that some validators lock on a value
// the next proposer never heard of (the schedule that makes a broken lock rule fork). After GST
// every message between running peers arrives, with a per-link latency, jitter and rare spikes,
// and the same adversary may still delay (not drop) the messages that matter, within a bound.
import type { CommitteeNode, CommitteeInfo } from '../../src/committee/index.ts'
import type { Rng } from './rng.ts'
import type { Scheduler } from './scheduler.ts'
import { peek } from './peek.ts'

export interface NetPeer {
  name: string
  /** index of the validator key it signs with */
  key: number
  keyHex: string
  honest: boolean
  up: boolean
  life: number
  node?: CommitteeNode
}

export interface NetScenario {
  healAt: number
  loss: number
  dup: number
  maxDelay: number
  partitions: boolean
  partitionEvery: number
  /** chance that a (height, round) before GST is a lock split */
  lockSplit: number
  /** chance that a (height, round) after GST gets the split's messages delayed instead */
  postLockSplit: number
  /** after GST: per-link latency range, ms */
  linkLatency: [number, number]
  /** after GST: chance of a spike, and its largest extra delay, ms */
  spikeP: number
  spikeMax: number
  /** after GST: the most the adversary adds to a message that matters, ms */
  postDelayMax: number
}

/**
 * A lock split of (h, r). `blind` peers never see the polka while they are at (h, r); only the
 * decider (if any) sees a quorum of precommits. Two kinds: the next proposer blind and one
 * decider (some lock, one decides, the next proposer proposes something new); or everyone blind
 * but the proposer after next, and no decider (it alone locks, and later re-proposes its value
 * with this round as its valid round, over the others' newer locks).
 */
interface Split { blind: Set<string>, decider?: string, noProposal: Set<string> }

export class Network {
  private readonly sched: Scheduler
  private readonly R: Rng
  readonly sc: NetScenario
  private readonly peers: NetPeer[]
  private readonly committeeAt: (h: number) => CommitteeInfo
  private readonly senderKey: (p: NetPeer) => Uint8Array
  private groups: Map<string, number> | null = null
  private readonly latency = new Map<string, number>()
  private readonly splits = new Map<string, Split | null>()
  /** deciders of a split that decided: peer → the height they decided */
  private readonly deciders = new Map<string, number>()
  /** per (h, r, value, receiver): signers of non-nil precommits (or prevotes) it was given */
  private readonly seen = new Map<string, Set<string>>()
  /** own votes each peer sent: (peer, h, r, type) → value */
  private readonly own = new Map<string, string>()
  /** every frame sent (the adversary sees everything) */
  observe: (from: NetPeer, data: Uint8Array) => void = () => {}
  dropped = 0

  constructor (sched: Scheduler, R: Rng, sc: NetScenario, peers: NetPeer[], committeeAt: (h: number) => CommitteeInfo, senderKey: (p: NetPeer) => Uint8Array) {
    this.sched = sched
    this.R = R
    this.sc = sc
    this.peers = peers
    this.committeeAt = committeeAt
    this.senderKey = senderKey
  }

  healed (): boolean { return this.sched.now >= this.sc.healAt }

  startPartitions (): void {
    const reshuffle = (): void => {
      if (this.healed() || !this.sc.partitions) { this.groups = null; return }
      this.groups = new Map(this.peers.map((p) => [p.name, this.R.int(0, 1)]))
      this.sched.after(this.sc.partitionEvery, reshuffle)
    }
    reshuffle()
  }

  /** a peer sent `data` to `to` */
  send (from: NetPeer, to: NetPeer, data: Uint8Array): void {
    const pk = peek(data)
    if (pk.vote != null && pk.signer === from.keyHex) this.own.set(`${from.name}/${pk.vote.height}/${pk.vote.round}/${pk.vote.type}`, pk.value ?? '')
    let extra = 0
    if (!this.healed()) {
      if (this.groups != null && this.groups.get(from.name) !== this.groups.get(to.name)) { this.dropped++; return }
      if (this.R.chance(this.sc.loss)) { this.dropped++; return }
      if (this.targeted(to, pk) || this.isolated(from, to)) { this.dropped++; return }
    } else if (this.targeted(to, pk) || this.isolated(from, to)) {
      extra = this.R.int(1, this.sc.postDelayMax)
    }
    const copies = !this.healed() && this.R.chance(this.sc.dup) ? 2 : 1
    for (let c = 0; c < copies; c++) {
      const delay = extra + (this.healed() ? this.postDelay(from, to) : this.R.int(1, this.sc.maxDelay))
      const life = to.life
      const key = this.senderKey(from)
      this.sched.after(delay, () => { if (to.up && to.life === life) to.node?.handleMessage(from.name, data, key) })
    }
  }

  private postDelay (from: NetPeer, to: NetPeer): number {
    const k = `${from.name}>${to.name}`
    let base = this.latency.get(k)
    if (base == null) { base = this.R.int(this.sc.linkLatency[0], this.sc.linkLatency[1]); this.latency.set(k, base) }
    let d = base + this.R.int(0, Math.ceil(base / 2))
    if (this.R.chance(this.sc.spikeP)) d += this.R.int(1, this.sc.spikeMax)
    return d
  }

  /** the lock split of (h, r), decided the first time a message of it passes */
  private split (h: number, r: number): Split | null {
    const k = `${h}/${r}`
    let s = this.splits.get(k)
    if (s !== undefined) return s
    s = null
    const p = this.healed() ? this.sc.postLockSplit : this.sc.lockSplit
    if (p > 0 && this.R.chance(p)) {
      const c = this.committeeAt(h)
      const keyAt = (i: number): string => Buffer.from(c.validators[i % c.validators.length]).toString('hex')
      const members = this.peers.filter((x) => x.honest && c.index.has(x.keyHex))
      if (this.R.chance(0.5)) {
        const next = keyAt(h + r + 1)
        const blind = new Set(members.filter((x) => x.keyHex === next).map((x) => x.name))
        const others = members.filter((x) => !blind.has(x.name))
        if (blind.size > 0 && others.length > 0) s = { blind, decider: this.R.pick(others).name, noProposal: blind }
      } else {
        // the round's proposal is kept from one blind peer, whose nil prevote lets the others
        // time out without a polka
        const seer = keyAt(h + r + 2)
        const proposer = keyAt(h + r)
        const blind = members.filter((x) => x.keyHex !== seer)
        const quiet = blind.filter((x) => x.keyHex !== proposer)
        if (blind.length < members.length && quiet.length > 0) s = { blind: new Set(blind.map((x) => x.name)), noProposal: new Set([this.R.pick(quiet).name]) }
      }
    }
    this.splits.set(k, s)
    return s
  }

  /**
   * The decider of a split, once it decided, is cut off from the peers still at that height (its
   * status, catch-up answers and messages of the next height would tell them the decision): they
   * must go on to the next round without it.
   */
  private isolated (from: NetPeer, to: NetPeer): boolean {
    if (this.deciders.size === 0) return false
    const h = this.deciders.get(from.name)
    if (h == null) return false
    const there = this.at(to).height
    if (there > h) { this.deciders.delete(from.name); return false }
    return there === h
  }

  /** a peer decided height h: if it was the decider of a split at h, it is isolated (see isolated) */
  decided (p: NetPeer, h: number): void {
    for (const [k, s] of this.splits) {
      if (s?.decider === p.name && k.startsWith(`${h}/`)) { this.deciders.set(p.name, h); return }
    }
  }

  /** where `to` is: its height and round (a peer still at (h, r) is the one the split aims at) */
  private at (to: NetPeer): { height: number, round: number } {
    const s = to.node?.status()
    return s == null ? { height: 0, round: -1 } : { height: s.height, round: s.round }
  }

  /**
   * Whether the adversary holds this message back from `to`: the proposal of (h, r) and the
   * polka beyond 2f prevotes from the blind peer (the next proposer), and a quorum of precommits
   * for a value from everyone but the decider, while they are still at (h, r).
   */
  private targeted (to: NetPeer, pk: ReturnType<typeof peek>): boolean {
    const body = pk.proposal ?? pk.vote
    if (body == null) return false
    const h = body.height
    const r = body.round
    const s = this.split(h, r)
    if (s == null) return false
    const where = this.at(to)
    if (where.height !== h || where.round > r) return false
    const c = this.committeeAt(h)
    if (pk.proposal != null) return s.noProposal.has(to.name)
    const v = pk.vote!
    if (pk.value === '') return false
    const k = `${h}/${r}/${v.type}/${pk.value ?? ''}/${to.name}`
    let got = this.seen.get(k)
    if (got == null) { got = new Set(); this.seen.set(k, got) }
    if (got.has(pk.signer ?? '')) return false
    if (v.type === 'prevote') {
      if (!s.blind.has(to.name)) { got.add(pk.signer ?? ''); return false }
      // a blind peer sees at most 2f prevotes for the value, counting its own: it times out
      // without seeing the polka
      const own = this.own.get(`${to.name}/${h}/${r}/prevote`) === pk.value ? 1 : 0
      if (got.size + own >= 2 * c.f) return true
      got.add(pk.signer ?? '')
      return false
    }
    if (s.decider != null && to.name === s.decider) return false
    // everyone else sees at most q-1 precommits for the value, counting its own
    const mine = this.own.get(`${to.name}/${h}/${r}/precommit`) === pk.value ? 1 : 0
    if (got.size + mine >= c.threshold - 1) return true
    got.add(pk.signer ?? '')
    return false
  }
}
