// The simulator's independent checks, applied as things happen (not only at the end):
// - agreement: honest validators decide the same batch at every height;
// - every decided batch checks out from the outside: its header names the previous batch as its
//   parent, carries a last commit of a quorum of distinct members' precommits (one round) for
//   that parent with the median time of their timestamps, later than the parent's; and it was
//   decided by a quorum of distinct members' precommits (one round) for its own header hash;
// - no honest validator signs two different votes for one (height, round, type), nor two
//   finalize signatures for one height, across crashes and restarts;
// - every lease certificate verifies against the committee file of its epoch, and no order gets
//   two leases or both a lease and an expiry.
import { openMessage } from '../../src/wire/envelope.ts'
import type { SignedMessage } from '../../src/wire/envelope.ts'
import { medianTime, verifyLeaseCertificate } from '../../src/committee/index.ts'
import type { CommitteeInfo, CommitteeFile, Verifier, ProposalBody, VoteBody, LeaseEvent, Expiry } from '../../src/committee/index.ts'
import { batchValue, idsHash } from '../../src/committee/batch.ts'
import type { NetPeer } from './network.ts'
import { peek, hexOf } from './peek.ts'

export interface StoredBatch { proposal: Uint8Array, commit: Uint8Array[] }

export class Invariants {
  readonly safety: string[] = []
  private readonly verifier: Verifier
  private readonly committeeAt: (h: number) => CommitteeInfo
  /** height → header hash (hex) decided by an honest validator */
  readonly headers = new Map<number, string>()
  /** height → committee time of the batch decided there */
  readonly times = new Map<number, number>()
  private readonly checked = new Set<number>()
  private readonly votes = new Map<string, string>()
  readonly leases = new Map<string, string>()
  readonly resolved = new Set<string>()
  readonly expiries = new Map<string, string>()
  readonly files = new Map<number, CommitteeFile>()
  maxHeight = 0

  constructor (verifier: Verifier, committeeAt: (h: number) => CommitteeInfo, genesis: CommitteeFile) {
    this.verifier = verifier
    this.committeeAt = committeeAt
    this.files.set(0, genesis)
  }

  private fail (s: string): void { if (this.safety.length < 20) this.safety.push(s) }

  /** an honest validator decided `height` */
  batch (p: NetPeer, height: number, header: Uint8Array, stored: () => StoredBatch | undefined): void {
    const hx = hexOf(header)
    this.maxHeight = Math.max(this.maxHeight, height)
    const prev = this.headers.get(height)
    if (prev == null) this.headers.set(height, hx)
    else if (prev !== hx) this.fail(`honest validators disagree on batch ${height}: ${prev.slice(0, 12)} vs ${hx.slice(0, 12)} (${p.name})`)
    if (!this.checked.has(height)) {
      const row = stored()
      if (row != null) { this.checked.add(height); this.checkBatch(height, row) }
    }
  }

  private checkBatch (h: number, row: StoredBatch): void {
    let v
    try { v = batchValue(openMessage<ProposalBody>(row.proposal, { trusted: true })) } catch (err: any) { this.fail(`batch ${h} does not decode: ${String(err?.message ?? err)}`); return }
    const hd = v.header
    const where = `batch ${h} (${v.hashHex.slice(0, 12)})`
    if (hd.height !== h) this.fail(`${where} says height ${hd.height}`)
    this.times.set(h, hd.time)
    if (h > 1) {
      const parent = this.headers.get(h - 1)
      if (parent != null && hexOf(hd.parent) !== parent) this.fail(`${where} names parent ${hexOf(hd.parent).slice(0, 12)}, but batch ${h - 1} is ${parent.slice(0, 12)}`)
      const lc = this.commit(h - 1, hexOf(hd.parent), v.msg.body.lastCommit, `${where}: last commit`)
      if (lc != null) {
        if (hexOf(idsHash(lc.map((x) => x.id))) !== hexOf(hd.lastCommit)) this.fail(`${where}: last commit hash does not match its precommits`)
        const t = medianTime(lc.map((x) => x.createdAt))
        if (t !== hd.time) this.fail(`${where}: time ${hd.time}, but its last commit's median is ${t}`)
        const pt = this.times.get(h - 1)
        if (pt != null && hd.time <= pt) this.fail(`${where}: time ${hd.time} does not advance past ${pt}`)
      }
    }
    this.commit(h, v.hashHex, row.commit, `${where}: commit`)
    const ids = v.msg.body.items.map(hexOf)
    if (new Set(ids).size !== ids.length) this.fail(`${where}: an item repeats`)
  }

  /** a quorum of distinct members' valid precommits of one round for `value` at `h`, or a failure */
  private commit (h: number, value: string, envs: Uint8Array[], what: string): Array<SignedMessage<VoteBody>> | undefined {
    const c = this.committeeAt(h)
    const signers = new Set<string>()
    const rounds = new Set<number>()
    const out: Array<SignedMessage<VoteBody>> = []
    for (const b of envs) {
      let m: SignedMessage<VoteBody>
      try { m = openMessage<VoteBody>(b, { trusted: true }) } catch { this.fail(`${what} holds something that is not a vote`); return undefined }
      const k = hexOf(m.signer)
      if (m.body.type !== 'precommit' || m.body.height !== h || hexOf(m.body.value) !== value) { this.fail(`${what} holds a vote for something else`); return undefined }
      if (!c.index.has(k)) { this.fail(`${what} holds a precommit by a non-member`); return undefined }
      if (signers.has(k)) { this.fail(`${what} repeats a validator`); return undefined }
      if (!this.verifier(m.sig, m.payload, m.signer)) { this.fail(`${what} holds a precommit whose signature does not verify`); return undefined }
      signers.add(k)
      rounds.add(m.body.round)
      out.push(m)
    }
    if (rounds.size > 1) this.fail(`${what} mixes rounds ${[...rounds].join(',')}`)
    if (signers.size < c.threshold) this.fail(`${what} has ${signers.size} precommits; the committee of height ${h} needs ${c.threshold}`)
    return out
  }

  /** a frame an honest peer sent: its own votes and finalize signatures must never conflict */
  sent (p: NetPeer, data: Uint8Array): void {
    const pk = peek(data)
    if (pk.vote != null && pk.signer === p.keyHex) {
      const v = pk.vote
      const k = `${p.keyHex}/${v.height}/${v.round}/${v.type}`
      const prev = this.votes.get(k)
      if (prev == null) this.votes.set(k, pk.value ?? '')
      else if (prev !== pk.value) this.fail(`${p.name} signed two ${v.type}s at ${v.height}/${v.round}: ${prev.slice(0, 8) || 'nil'} and ${(pk.value ?? '').slice(0, 8) || 'nil'}`)
    } else if (pk.frame?.kind === 'fin' && hexOf(pk.frame.body.validator) === p.keyHex) {
      const f = pk.frame.body
      const k = `${p.keyHex}/fin/${f.height}`
      const hx = hexOf(f.header)
      const prev = this.votes.get(k)
      if (prev == null) this.votes.set(k, hx)
      else if (prev !== hx) this.fail(`${p.name} signed finalize for two headers at ${f.height}`)
    }
  }

  lease (p: NetPeer, { lease, certificate }: LeaseEvent): void {
    const chain = [...this.files.values()].sort((a, b) => a.info.epoch - b.info.epoch)
    const verdict = verifyLeaseCertificate(certificate, chain, { verifier: this.verifier })
    if (!verdict.ok) this.fail(`${p.name} produced an invalid certificate: ${verdict.reason ?? ''}`)
    const o = hexOf(lease.order)
    const v = `${hexOf(lease.bid)}@${hexOf(certificate.batch)}`
    const prev = this.leases.get(o)
    if (prev == null) this.leases.set(o, v)
    else if (prev !== v) this.fail(`two certificates for order ${o.slice(0, 12)}: ${prev.slice(0, 24)} and ${v.slice(0, 24)}`)
    this.resolved.add(o)
  }

  expired (p: NetPeer, e: Expiry): void {
    const o = hexOf(e.order)
    if (this.leases.has(o)) this.fail(`order ${o.slice(0, 12)} both leased and expired (${p.name})`)
    this.resolved.add(o)
    this.expiries.set(o, e.reason)
  }
}
