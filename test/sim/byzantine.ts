// Byzantine validators. Each runs the real node code with its own key and store; what it sends is
// rewritten here, and it may send more. Strategies, chosen per seed:
//   twin        two nodes with one key, each honest on its own (equivocation by accident)
//   silent      never runs
//   withhold    sends only some of its proposals and votes
//   forge       re-signs its proposals with a lease root, parent, time or last commit of its choosing
//   amnesia     forgets what it signed (its lock, its votes) and restarts, now and then
//   equivocate  sends one vote to half the peers and a conflicting one to the others, per round
//   junk        fills its per-round vote slots at some peers with junk before its real vote
//   censor      as proposer, leaves out a provider's bids and picks the last-commit subset (and
//               so the committee time) at an extreme
//   forge-sync  sends catch-up answers with short commits, commits of other rounds, values that
//               were not decided, and junk certificate signatures
// The Byzantine validators collude: any of them signs with every Byzantine key.
import { signMessage, openMessage } from '../../src/wire/envelope.ts'
import type { Signer, SignedMessage } from '../../src/wire/envelope.ts'
import { MessageTag } from '../../src/wire/constants.ts'
import { encodeFrame, CommitteeTag, medianTime } from '../../src/committee/index.ts'
import type { ProposalBody, VoteBody, HeaderBody, ProposerPolicy, CommitteeInfo } from '../../src/committee/index.ts'
import { encodeHeader, batchValue, idsHash } from '../../src/committee/batch.ts'
import { validateHeader } from '../../src/committee/messages.ts'
import { decodeCbor, encodeCbor } from '../../src/wire/codec.ts'
import type { Rng } from './rng.ts'
import type { Scheduler } from './scheduler.ts'
import type { NetPeer } from './network.ts'
import { peek, hexOf } from './peek.ts'

export type Strategy = 'twin' | 'silent' | 'withhold' | 'forge' | 'amnesia' | 'equivocate' | 'junk' | 'censor' | 'forge-sync'
export const STRATEGIES: readonly Strategy[] = ['twin', 'silent', 'withhold', 'forge', 'amnesia', 'equivocate', 'junk', 'censor', 'forge-sync']

export interface ByzPeer extends NetPeer { strategy?: Strategy }

interface SeenVote { env: SignedMessage<VoteBody>, bytes: Uint8Array }

export class Adversary {
  private readonly R: Rng
  private readonly sched: Scheduler
  private readonly signers: Signer[]
  /** keys (indices) of the Byzantine validators */
  private readonly byzKeys: number[]
  private readonly committeeAt: (h: number) => CommitteeInfo
  /** the victim provider whose bids a censoring proposer leaves out */
  victimProvider: Uint8Array | undefined
  /** proposals seen, by height: value hex → envelope bytes */
  private readonly proposals = new Map<number, Map<string, Uint8Array>>()
  /** precommits seen, by height: value hex → envelopes */
  private readonly precommits = new Map<number, Map<string, SeenVote[]>>()
  /** per (h, r): which peers get the conflicting vote */
  private readonly halves = new Map<string, Set<string>>()
  forged = 0

  constructor (sched: Scheduler, R: Rng, signers: Signer[], byzKeys: number[], committeeAt: (h: number) => CommitteeInfo) {
    this.sched = sched
    this.R = R
    this.signers = signers
    this.byzKeys = byzKeys
    this.committeeAt = committeeAt
  }

  /** every frame any peer sends passes here first: the adversary sees the whole network */
  observe (data: Uint8Array): void {
    const pk = peek(data)
    if (pk.proposal != null && pk.frame?.kind === 'msg') {
      const h = pk.proposal.height
      let m = this.proposals.get(h)
      if (m == null) { m = new Map(); this.proposals.set(h, m); this.forget(this.proposals, h) }
      try { m.set(batchValue(pk.msg as SignedMessage<ProposalBody>).hashHex, pk.frame.body) } catch {}
    } else if (pk.vote?.type === 'precommit' && pk.value !== '' && pk.frame?.kind === 'msg') {
      const h = pk.vote.height
      let m = this.precommits.get(h)
      if (m == null) { m = new Map(); this.precommits.set(h, m); this.forget(this.precommits, h) }
      const list = m.get(pk.value ?? '') ?? []
      if (list.length < 64 && !list.some((x) => hexOf(x.env.signer) === pk.signer && x.env.body.round === pk.vote!.round)) list.push({ env: pk.msg as SignedMessage<VoteBody>, bytes: pk.frame.body })
      m.set(pk.value ?? '', list)
    }
  }

  private forget<T> (m: Map<number, T>, h: number): void { m.delete(h - 8) }

  /** what a Byzantine peer's frame becomes on its way to `to` (nothing, itself, or several frames) */
  rewrite (from: ByzPeer, to: NetPeer, data: Uint8Array): Uint8Array[] {
    const s = from.strategy
    if (s == null || s === 'twin' || s === 'amnesia' || s === 'censor' || s === 'forge-sync') return [data]
    if (s === 'silent') return []
    const pk = peek(data)
    if (pk.frame?.kind !== 'msg' || pk.signer !== from.keyHex) return [data]
    if (s === 'withhold') return this.R.chance(0.7) ? [] : [data]
    if (s === 'forge') return pk.proposal != null ? [this.forgeProposal(from, pk.msg as SignedMessage<ProposalBody>) ?? data] : [data]
    const v = pk.vote
    if (v == null) return [data]
    if (s === 'equivocate') {
      const k = `${v.height}/${v.round}`
      let half = this.halves.get(k)
      if (half == null) { half = new Set(); this.halves.set(k, half); this.halves.delete(`${v.height - 4}/${v.round}`) }
      if (!half.has(to.name) && !half.has(`-${to.name}`)) half.add(this.R.chance(0.5) ? to.name : `-${to.name}`)
      if (!half.has(to.name)) return [data]
      return [this.vote(from.key, v, this.conflicting(v, pk.value ?? ''), pk.msg!.createdAt)]
    }
    if (s === 'junk') {
      // three junk values first, at peers chosen per round, then the real vote
      if (!this.R.chance(0.6)) return [data]
      const junk = [0, 1, 2].map(() => this.vote(from.key, v, this.randomValue(), pk.msg!.createdAt))
      return [...junk, data]
    }
    return [data]
  }

  private conflicting (v: VoteBody, value: string): string {
    const others = [...(this.proposals.get(v.height)?.keys() ?? [])].filter((x) => x !== value)
    if (others.length > 0 && this.R.chance(0.7)) return this.R.pick(others)
    return value === '' ? this.randomValue() : ''
  }

  private randomValue (): string { return hexOf(new Uint8Array(32).map(() => this.R.int(0, 255))) }

  private vote (key: number, v: VoteBody, valueHex: string, createdAt: number): Uint8Array {
    const body: VoteBody = { ...v, value: Uint8Array.from(Buffer.from(valueHex, 'hex')) }
    const m = signMessage<VoteBody>(this.signers[key], CommitteeTag.VOTE, body, { createdAt, nonce: this.nonce() })
    this.forged++
    return encodeFrame({ kind: 'msg', body: m.bytes })
  }

  private nonce (): Uint8Array { return new Uint8Array(16).map(() => this.R.int(0, 255)) }

  /** one of: another lease root, another parent, another time, a short or padded last commit */
  private forgeProposal (from: ByzPeer, m: SignedMessage<ProposalBody>): Uint8Array | undefined {
    try {
      const body = { ...m.body }
      const header = validateHeader(decodeCbor(body.header, 4096, 'header'), 'header') as HeaderBody
      const mode = this.R.int(0, 4)
      if (mode === 0) body.leaseRoot = new Uint8Array(32).map(() => this.R.int(0, 255))
      else if (mode === 1) header.parent = new Uint8Array(32).map(() => this.R.int(0, 255))
      else if (mode === 2) header.time += this.R.int(1, 50)
      else {
        if (body.lastCommit.length === 0) return undefined
        const votes = body.lastCommit.map((b) => openMessage<VoteBody>(b, { trusted: true }))
        // short: one precommit fewer; padded: one repeated in place of another
        const lc = mode === 3 ? body.lastCommit.slice(0, -1) : [...body.lastCommit.slice(0, -1), body.lastCommit[0]]
        const chosen = mode === 3 ? votes.slice(0, -1) : [...votes.slice(0, -1), votes[0]]
        if (lc.length === 0) return undefined
        body.lastCommit = lc
        header.lastCommit = idsHash(chosen.map((v) => v.id))
        header.time = medianTime(chosen.map((v) => v.createdAt))
      }
      body.header = encodeHeader(header)
      const forged = signMessage<ProposalBody>(this.signers[from.key], CommitteeTag.PROPOSAL, body, { createdAt: m.createdAt, nonce: this.nonce() })
      this.forged++
      return encodeFrame({ kind: 'msg', body: forged.bytes })
    } catch {
      return undefined
    }
  }

  /** the censoring proposer's choices */
  policy (): ProposerPolicy {
    return {
      lastCommit: (votes, threshold) => {
        // the subset of a quorum whose median is the earliest or the latest it can have
        const sorted = [...votes].sort((a, b) => a.createdAt - b.createdAt)
        return this.R.chance(0.5) ? sorted.slice(0, threshold) : sorted.slice(sorted.length - threshold)
      },
      items: (candidates) => {
        const victim = this.victimProvider
        return candidates.filter((m) => !(m.tag === MessageTag.BID && victim != null && Buffer.compare(Buffer.from(m.signer), Buffer.from(victim)) === 0 && this.R.chance(0.9)))
      }
    }
  }

  /**
   * A forger's catch-up answers, sent to everyone: for recent heights, a decided batch with one
   * precommit too few; a proposal that was not decided with every precommit seen for it in any
   * round plus the colluders' own; junk in place of certificate signatures.
   */
  forgeSync (from: ByzPeer, decided: (h: number) => { proposal: Uint8Array, commit: Uint8Array[] } | undefined, top: number): Uint8Array[] {
    const out: Uint8Array[] = []
    for (let h = Math.max(1, top - 3); h <= top + 1; h++) {
      const row = decided(h)
      if (row != null && row.commit.length > 1) {
        out.push(encodeFrame({ kind: 'batches', body: { batches: [{ proposal: row.proposal, commit: row.commit.slice(0, -1), signatures: encodeCbor([{ validator: 99, sig: new Uint8Array(64) }]) }] } }))
      }
      const decidedHash = row == null ? undefined : (() => { try { return batchValue(openMessage<ProposalBody>(row.proposal, { trusted: true })).hashHex } catch { return undefined } })()
      for (const [value, proposal] of this.proposals.get(h) ?? []) {
        if (value === decidedHash) continue
        const seen = this.precommits.get(h)?.get(value) ?? []
        const round = seen[0]?.env.body.round ?? openMessage<ProposalBody>(proposal, { trusted: true }).body.round
        const c = this.committeeAt(h)
        const own = this.byzKeys.filter((k) => c.index.has(hexOf(this.signers[k].publicKey))).map((k) => {
          const m = signMessage<VoteBody>(this.signers[k], CommitteeTag.VOTE, { epoch: c.epoch, height: h, round, type: 'precommit', value: Uint8Array.from(Buffer.from(value, 'hex')) }, { createdAt: this.sched.now, nonce: this.nonce() })
          return m.bytes
        })
        const sameRound = seen.filter((x) => x.env.body.round === round).map((x) => x.bytes)
        const anyRound = seen.map((x) => x.bytes)
        for (const commit of [[...own, ...sameRound], [...own, ...anyRound]]) {
          if (commit.length === 0) continue
          out.push(encodeFrame({ kind: 'batches', body: { batches: [{ proposal, commit: commit.slice(0, 128) }] } }))
        }
      }
    }
    this.forged += out.length
    void from
    return out
  }
}

