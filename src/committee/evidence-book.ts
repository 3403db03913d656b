// Evidence: conflicting signatures by one validator, kept (in the store too), listed, announced
// and gossiped. Evidence from a peer is taken only when both halves verify and are signed by a
// member of the epoch they name, and each validator gets a bounded share of the book, so no one
// can fill it with made-up keys or crowd out the evidence against another validator.
import { encodeCbor, decodeCbor } from '../wire/codec.ts'
import { MAX_ENVELOPE_BYTES } from '../wire/constants.ts'
import { MAX_EVIDENCE, MAX_EVIDENCE_PER_VALIDATOR } from './constants.ts'
import { checkEvidence } from './evidence.ts'
import type { Evidence } from './evidence.ts'
import { validateEvidence } from './frames.ts'
import type { EvidenceFrame } from './frames.ts'
import type { CommitteeInfo } from './committee-file.ts'
import { BoundName } from './metrics.ts'
import { hex } from './bytes.ts'
import type { Core } from './core.ts'

export class EvidenceBook {
  private readonly core: Core
  private readonly list: Evidence[] = []
  private readonly keys = new Set<string>()
  private readonly perValidator = new Map<string, number>()

  constructor (core: Core) { this.core = core }

  all (): Evidence[] { return [...this.list] }
  get size (): number { return this.list.length }

  /** the committee of an epoch this node knows (from the ledger), for checking evidence */
  private readonly committeeOf = (epoch: number): CommitteeInfo | undefined => this.core.ledger.committees.find((x) => x.epoch === epoch)

  add (e: Evidence, gossip: boolean, persist = true): boolean {
    const c = this.core
    if (this.keys.has(e.key)) return false
    const who = hex(e.validator)
    const mine = this.perValidator.get(who) ?? 0
    if (mine >= MAX_EVIDENCE_PER_VALIDATOR || this.list.length >= MAX_EVIDENCE) { c.metrics.hit(BoundName.EVIDENCE_PER_VALIDATOR); return false }
    this.keys.add(e.key)
    this.list.push(e)
    this.perValidator.set(who, mine + 1)
    if (persist) {
      c.persist.saveEvidence(e.key, encodeCbor({ kind: e.kind, a: e.a, b: e.b }))
      c.log.warn({ validator: who, kind: e.kind, height: e.height }, `evidence that validator ${who.slice(0, 16)} signed two conflicting ${e.kind} messages`)
    }
    c.emit('evidence', e)
    if (gossip) c.broadcast({ kind: 'evidence', body: { kind: e.kind, a: e.a, b: e.b } })
    return true
  }

  onEvidence (f: EvidenceFrame): void {
    const e = checkEvidence(f, this.core.ledger.chain, this.core.verifier, this.committeeOf)
    if (e == null) {
      this.core.metrics.hit(BoundName.EVIDENCE_REFUSED)
      this.core.log.warn({ kind: f.kind }, `refused ${f.kind} evidence that does not check`)
      return
    }
    this.add(e, true)
  }

  /** evidence from the store, checked again against the committees the replayed ledger knows */
  restore (): void {
    const c = this.core
    for (const row of c.persist.evidence()) {
      try {
        const f = validateEvidence(decodeCbor(row.bytes, MAX_ENVELOPE_BYTES * 2 + 64, 'evidence'), 'evidence')
        const e = checkEvidence(f, c.ledger.chain, () => true, this.committeeOf)
        if (e != null) this.add(e, false, false)
      } catch {}
    }
  }
}
