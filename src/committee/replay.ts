// Replay at start: the ledger is a pure function of the final batches, so they are applied again
// from the store; then the evidence kept is checked against the committees that gives, and the
// current height resumes where this node's own signatures say it was (its round, its step, its
// lock), re-sending what it signed. CometBFT calls this the handshake and WAL replay.
import type { SignedMessage } from '../wire/envelope.ts'
import type { ProposalBody, VoteBody } from './messages.ts'
import { batchValue } from './batch.ts'
import { Step } from './consensus.ts'
import type { HeightConsensus, TimeoutKind } from './consensus.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'
import { equal, hex } from './bytes.ts'
import type { Core } from './core.ts'

export function replay (c: Core): void {
  const last = c.persist.lastHeight()
  for (let from = 1; from <= last; from += 256) {
    for (const row of c.persist.batches(from, 256)) {
      const v = batchValue(c.verdicts.trusted(row.proposal) as SignedMessage<ProposalBody>)
      const items = v.msg.body.items.map((id) => {
        const b = c.persist.item(id)
        if (b == null) throw new CommitteeError(CommitteeErrorCode.INCONSISTENT, `store lacks item ${hex(id)} of batch ${row.height}`)
        return c.verdicts.trusted(b)
      })
      const plan = c.ledger.plan(row.height, v.header.time, items)
      if (!equal(plan.leaseRoot, v.msg.body.leaseRoot)) throw new CommitteeError(CommitteeErrorCode.INCONSISTENT, `replaying batch ${row.height} gives another lease root`)
      const precommits = row.commit.map((b) => c.verdicts.trusted(b) as SignedMessage<VoteBody>)
      const committee = c.ledger.committeeAt(row.height)
      c.driver.applyDecided(v, plan, precommits, committee, true)
      const cert = c.certs.get(row.height)
      if (cert != null) {
        if (row.signatures != null) c.certs.markDone(row.height)
        else if (row.height > last - 16) c.certs.finalize(row.height, cert)
      }
    }
  }
  c.certs.advanceLowest(last)
  c.evidence.restore()
  c.tallies.resume()
  c.driver.newHeight()
  resume(c, c.driver.cur as HeightConsensus)
}

/** what this node signed at the current height decides where it resumes */
function resume (c: Core, cur: HeightConsensus): void {
  // only consensus rows say where it was: a committee file's signature is stored under its epoch
  // number, which can equal a height, and tallies and finalizes belong to decided heights
  const rows = c.persist.signedAt(cur.height).filter((r) => r.kind === 'proposal' || r.kind === 'prevote' || r.kind === 'precommit')
  // a node just (re)started does not know whether the others are mid-height: no idle pause
  if (rows.length === 0) { c.driver.scheduleRoundZero(false); return }
  const round = Math.max(...rows.map((r) => r.round))
  const at = rows.filter((r) => r.round === round)
  const step = at.some((r) => r.kind === 'precommit') ? Step.PRECOMMIT : at.some((r) => r.kind === 'prevote') ? Step.PREVOTE : Step.PROPOSE
  const lock = c.persist.lockAt(cur.height)
  const lockedValue = lock == null ? null : batchValue(c.verdicts.trusted(lock.proposal) as SignedMessage<ProposalBody>)
  // the locked batch's items were stored with the lock: back into the pool, to check and to serve
  for (const id of lockedValue?.msg.body.items ?? []) {
    const b = c.persist.item(id)
    if (b != null) c.pool.add(c.verdicts.trusted(b), { now: c.clock.now(), orderKnown: true, force: true })
  }
  cur.restore({ round, step, lockedValue, lockedRound: lock?.round ?? -1 })
  if (lockedValue != null) cur.addProposal(lockedValue)
  for (const r of rows) {
    const m = c.verdicts.trusted(r.bytes)
    if (r.kind === 'proposal') cur.addProposal(batchValue(m as SignedMessage<ProposalBody>))
    else if (cur.me >= 0) cur.addVote(m as SignedMessage<VoteBody>, cur.me)
    c.broadcast({ kind: 'msg', body: r.bytes })
  }
  const kind: TimeoutKind = step === Step.PROPOSE ? 'propose' : step === Step.PREVOTE ? 'prevote' : 'precommit'
  c.driver.host().schedule(kind, round)
}
