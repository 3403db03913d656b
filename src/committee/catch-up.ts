// Catch-up: the heartbeat (`status`), and the answers that bring a peer level: decided batches
// with the precommits that decided them (`sync` → `batches`), the messages of the current height,
// missing certificate signatures (`fin`) and items (`want` → `have`). A node applies synced
// batches in height order, each only with a commit (a quorum of the committee's precommits for
// it, one round, distinct members) and once it checks like any proposal. CometBFT calls this
// blocksync.
import type { SignedMessage } from '../wire/envelope.ts'
import { CommitteeTag, MAX_HAVE, SYNC_BATCHES, VoteType } from './constants.ts'
import type { ProposalBody, VoteBody } from './messages.ts'
import { batchValue } from './batch.ts'
import type { BatchValue } from './batch.ts'
import { memberOf } from './checker.ts'
import type { Status, SyncBatch } from './frames.ts'
import type { CommitteeInfo } from './committee-file.ts'
import { equal, hex } from './bytes.ts'
import type { Core } from './core.ts'
import { errorMessage } from '../util/index.ts'

interface PendingSync { value: BatchValue, precommits: Array<SignedMessage<VoteBody>>, from: string, signatures?: Uint8Array }

/** candidates kept per height: a forged batch arriving first must not crowd out the real one */
const CANDIDATES_PER_HEIGHT = 4

export class CatchUp {
  private readonly core: Core
  private readonly pending = new Map<number, PendingSync[]>()
  readonly peers = new Map<string, { height: number, round: number, at: number }>()
  private lastAsk = -Infinity

  constructor (core: Core) { this.core = core }

  heartbeat (): void {
    const c = this.core
    const cur = c.driver.cur
    const s: Status = { height: c.ledger.height + 1, round: Math.max(0, cur?.round ?? 0), certified: c.certs.lowestUncertified }
    c.broadcast({ kind: 'status', body: s })
    c.epochs.repeatOwn()
    c.intake.prune()
    c.timer(c.init.statusIntervalMs, () => this.heartbeat())
  }

  /** someone is ahead: ask for the batches this node lacks (at most once per batch interval) */
  askSync (peer: string | undefined, from = this.core.ledger.height + 1): void {
    const c = this.core
    const now = c.clock.now()
    if (now - this.lastAsk < c.init.batchIntervalMs) return
    this.lastAsk = now
    if (peer != null) c.send(peer, { kind: 'sync', body: { from } })
    else c.broadcast({ kind: 'sync', body: { from } })
  }

  onStatus (from: string, s: Status): void {
    const c = this.core
    const mine = c.ledger.height + 1
    this.peers.set(from, { height: s.height, round: s.round, at: c.clock.now() })
    if (this.peers.size > 1024) this.peers.delete(this.peers.keys().next().value as string)
    if (s.height < mine) {
      this.onSyncRequest(from, s.height)
    } else if (s.height > mine) {
      c.send(from, { kind: 'sync', body: { from: mine } })
    } else if (c.driver.cur != null) {
      // same height: what this node signed at it, and the proposals and votes it holds
      for (const b of c.driver.heightMessages(c.driver.cur, s.round)) c.send(from, { kind: 'msg', body: b })
    }
    // certificates the peer lacks
    for (const f of c.certs.framesFor(s.certified, mine)) c.send(from, { kind: 'fin', body: f })
  }

  onSyncRequest (from: string, start: number): void {
    const c = this.core
    const rows = c.persist.batches(start, SYNC_BATCHES)
    if (rows.length > 0) {
      const batches: SyncBatch[] = rows.map((r) => r.signatures != null ? { proposal: r.proposal, commit: r.commit, signatures: r.signatures } : { proposal: r.proposal, commit: r.commit })
      c.send(from, { kind: 'batches', body: { batches } })
    }
    if (start >= c.ledger.height + 1 && c.driver.cur != null) {
      for (const p of c.driver.cur.allProposals()) c.send(from, { kind: 'msg', body: p.msg.bytes })
    }
  }

  onBatches (from: string, batches: SyncBatch[]): void {
    const c = this.core
    for (const b of batches) {
      let m: SignedMessage<ProposalBody>
      let precommits: Array<SignedMessage<VoteBody>>
      try {
        m = c.verdicts.open(b.proposal, CommitteeTag.PROPOSAL) as SignedMessage<ProposalBody>
        const h = m.body.height
        const list = this.pending.get(h) ?? []
        if (h <= c.ledger.height || list.length >= CANDIDATES_PER_HEIGHT || h > c.ledger.height + SYNC_BATCHES) continue
        if (list.some((x) => equal(x.value.msg.bytes, b.proposal))) continue
        // precommits of strangers are dropped before their signature is checked (the committee of
        // an epoch this node does not know yet is checked when the batch's turn comes)
        const committee = c.ledger.committeeAt(h)
        const pre = m.body.epoch === committee.epoch ? memberOf(committee) : undefined
        precommits = b.commit.map((x) => c.verdicts.open(x, CommitteeTag.VOTE, pre) as SignedMessage<VoteBody>)
      } catch (err) {
        c.log.warn({ from, err: errorMessage(err) }, `dropped a synced batch from ${from}: ${errorMessage(err)}`)
        continue
      }
      const h = m.body.height
      const candidate: PendingSync = { value: batchValue(m), precommits, from, signatures: b.signatures }
      // a batch without a commit is not kept (one of an epoch this node does not know yet waits)
      const committee = c.ledger.committeeAt(h)
      const known = m.body.epoch === committee.epoch
      if (known && this.commitOf(candidate, h, committee) == null) { c.log.warn({ from, height: h }, `synced batch ${h} lacks a commit`); continue }
      const list = this.pending.get(h) ?? []
      list.push(candidate)
      this.pending.set(h, list)
      // the items of the batches ahead are asked for at once, not one height after the other
      if (known && h > c.ledger.height + 1) c.checker.prefetch(m.body.items, from)
    }
    this.drain()
  }

  /** a height was decided here: whatever was synced for it is moot */
  decided (h: number): void { this.pending.delete(h) }

  /** applies synced batches in height order while their commits check and their items are here */
  drain (): void {
    const c = this.core
    for (;;) {
      const h = c.ledger.height + 1
      const list = this.pending.get(h)
      if (list == null || list.length === 0) { this.pending.delete(h); return }
      const committee = c.ledger.committeeAt(h)
      let waiting = false
      let applied = false
      for (const p of [...list]) {
        const votes = this.commitOf(p, h, committee)
        if (votes == null) {
          c.log.warn({ from: p.from, height: h }, `synced batch ${h} lacks a commit`)
          list.splice(list.indexOf(p), 1)
          continue
        }
        c.checker.heardFrom(p.value.hashHex, p.from)
        const ok = c.checker.validate(p.value)
        if (ok === 'pending') { waiting = true; continue }
        if (ok === 'invalid') {
          c.log.error({ from: p.from, height: h, batch: p.value.hashHex }, `batch ${h} has 2f+1 precommits but does not check here`)
          list.splice(list.indexOf(p), 1)
          continue
        }
        c.driver.commit(p.value, votes)
        if (p.signatures != null) c.certs.absorb(h, p.signatures)
        applied = true
        break
      }
      if (!applied) {
        if (!waiting) this.pending.delete(h)
        return
      }
    }
  }

  /**
   * The commit of a synced batch: a quorum of distinct members' precommits of one round for its
   * header hash (one per validator, so a padded commit does not become this node's last commit),
   * or undefined.
   */
  private commitOf (p: PendingSync, h: number, committee: CommitteeInfo): Array<SignedMessage<VoteBody>> | undefined {
    const byIdx = new Map<number, SignedMessage<VoteBody>>()
    let round = -1
    for (const pc of p.precommits) {
      const idx = committee.index.get(hex(pc.signer))
      if (idx == null || pc.body.type !== VoteType.PRECOMMIT || pc.body.height !== h || pc.body.epoch !== committee.epoch || !equal(pc.body.value, p.value.hash)) continue
      if (round === -1) round = pc.body.round
      if (pc.body.round !== round) continue
      if (!byIdx.has(idx)) byIdx.set(idx, pc)
    }
    if (byIdx.size < committee.threshold) return undefined
    return [...byIdx.values()]
  }

  onWant (from: string, ids: Uint8Array[]): void {
    const c = this.core
    const msgs: Uint8Array[] = []
    let size = 0
    for (const id of ids) {
      const k = hex(id)
      const b = c.pool.get(k)?.bytes ?? c.verdicts.byMessageId(k)?.bytes ?? c.persist.item(id)
      if (b == null) continue
      if (msgs.length >= MAX_HAVE || size + b.length > 3 * 1024 * 1024) {
        c.send(from, { kind: 'have', body: { msgs: msgs.splice(0) } })
        size = 0
      }
      msgs.push(b)
      size += b.length
    }
    if (msgs.length > 0) c.send(from, { kind: 'have', body: { msgs } })
  }
}
