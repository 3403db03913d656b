// Deliberate breaks of the committee's safety rules. `npm run sim:mutants` applies each to a copy
// of the code and checks that the simulator or the tests catch it. Every entry names the file,
// the exact text it replaces (which must occur once) and the rule it breaks. Grow this list with
// every rule that is added.
export interface Mutant {
  id: string
  /** the rule broken, for the listing */
  rule: string
  file: string
  search: string
  replace: string
  description: string
  /** which catcher to try first (all are tried until one fails; by default the tests, then fresh seeds) */
  first?: 'sim4' | 'sim7' | 'tests'
}

export const MUTANTS: Mutant[] = [
  {
    id: 'lock-l22',
    rule: 'lock',
    file: 'src/committee/consensus.ts',
    search: 'const yes = ok === \'valid\' && (this.lockedRound === -1 || this.lockedValue?.hashHex === p.hashHex)',
    replace: 'const yes = ok === \'valid\'',
    description: 'L22 prevotes for any valid proposal, even while locked on another value'
  },
  {
    id: 'lock-l28',
    rule: 'lock',
    file: 'src/committee/consensus.ts',
    search: 'const yes = ok === \'valid\' && (this.lockedRound <= vr || this.lockedValue?.hashHex === p.hashHex)',
    replace: 'const yes = ok === \'valid\'',
    description: 'L28 prevotes for a re-proposed value whatever the lock'
  },
  {
    id: 'valid-round-polka',
    rule: 'validRound',
    file: 'src/committee/consensus.ts',
    search: '} else if ((this.prevotes.get(vr)?.count(p.hashHex) ?? 0) >= this.quorum) {',
    replace: '} else if ((this.prevotes.get(vr)?.total ?? 0) >= this.quorum) {',
    description: 'L28 takes any 2f+1 prevotes in validRound, not 2f+1 for the re-proposed value'
  },
  {
    id: 'restart-forgets-lock',
    rule: 'lock (persistence)',
    file: 'src/committee/replay.ts',
    search: 'cur.restore({ round, step, lockedValue, lockedRound: lock?.round ?? -1 })',
    replace: 'cur.restore({ round, step, lockedValue: null, lockedRound: -1 })',
    description: 'a restarted validator forgets the lock it recorded'
  },
  {
    id: 'vote-room-junk',
    rule: 'liveness (junk votes)',
    file: 'src/committee/consensus.ts',
    search: 'if (mine.length >= VOTE_ROOM && this.supporters(k, idx) < this.f + 1) return mine[0]',
    replace: 'if (mine.length >= VOTE_ROOM) return mine[0]',
    description: 'a validator\'s real vote is ignored for good once its junk filled its room (the stall)'
  },
  {
    id: 'precommit-on-f+1',
    rule: 'quorum',
    file: 'src/committee/consensus.ts',
    search: 'if (value === NIL || votes.size < this.quorum) continue\n        const p = this.findValue(value)\n        if (p == null || this.host.validate(p) !== \'valid\') continue',
    replace: 'if (value === NIL || votes.size < this.f + 1) continue\n        const p = this.findValue(value)\n        if (p == null || this.host.validate(p) !== \'valid\') continue',
    description: 'L36 locks and precommits on f+1 prevotes'
  },
  {
    id: 'decide-on-2f',
    rule: 'quorum',
    file: 'src/committee/consensus.ts',
    search: 'if (value === NIL || votes.size < this.quorum) continue\n        const p = this.findValue(value)\n        if (p == null) { this.host.missingProposal(r, value); continue }',
    replace: 'if (value === NIL || votes.size < this.quorum - 1) continue\n        const p = this.findValue(value)\n        if (p == null) { this.host.missingProposal(r, value); continue }',
    description: 'L49 decides on 2f precommits'
  },
  {
    id: 'threshold-formula',
    rule: 'quorum',
    file: 'src/committee/committee-file.ts',
    search: 'return n - Math.floor((n - 1) / 3)',
    replace: 'return Math.max(1, n - Math.floor((n - 1) / 3) - 1)',
    description: 'the committee threshold is one below 2f+1'
  },
  {
    id: 'catch-up-2f',
    rule: 'catch-up commit',
    file: 'src/committee/catch-up.ts',
    search: 'if (byIdx.size < committee.threshold) return undefined',
    replace: 'if (byIdx.size < committee.threshold - 1) return undefined',
    description: 'catch-up applies a batch with 2f precommits',
    first: 'tests'
  },
  {
    id: 'catch-up-mixed-rounds',
    rule: 'catch-up commit',
    file: 'src/committee/catch-up.ts',
    search: '      if (pc.body.round !== round) continue\n      if (!byIdx.has(idx)) byIdx.set(idx, pc)',
    replace: '      if (!byIdx.has(idx)) byIdx.set(idx, pc)',
    description: 'catch-up counts precommits of different rounds toward one commit',
    first: 'tests'
  },
  {
    id: 'last-commit-2f',
    rule: 'quorum (committee time)',
    file: 'src/committee/checker.ts',
    search: 'if (signers.size < prev.threshold) return `last commit has ${signers.size} precommits; ${prev.threshold} needed`',
    replace: 'if (signers.size < prev.threshold - 1) return `last commit has ${signers.size} precommits; ${prev.threshold} needed`',
    description: 'a batch is valid with a last commit of 2f precommits'
  },
  {
    id: 'last-commit-repeats',
    rule: 'quorum (committee time)',
    file: 'src/committee/checker.ts',
    search: 'if (idx == null || signers.has(idx)) return \'last commit has a stranger or a repeat\'',
    replace: 'if (idx == null) return \'last commit has a stranger or a repeat\'',
    description: 'a last commit may repeat one validator\'s precommit'
  },
  {
    id: 'header-time',
    rule: 'committee time',
    file: 'src/committee/checker.ts',
    search: 'if (hd.time !== time) return `time ${hd.time}, the last commit gives ${time}`',
    replace: '',
    description: 'a header may carry any time, not the median of its last commit'
  },
  {
    id: 'header-parent',
    rule: 'validity',
    file: 'src/committee/checker.ts',
    search: 'if (!equal(hd.parent, ledger.head)) return \'wrong parent\'',
    replace: '',
    description: 'a header may name any parent'
  },
  {
    id: 'lease-root',
    rule: 'validity',
    file: 'src/committee/checker.ts',
    search: 'if (!equal(plan.leaseRoot, v.msg.body.leaseRoot)) return \'lease root differs from the matching result\'',
    replace: '',
    description: 'a proposal\'s lease root is not recomputed'
  },
  {
    id: 'certificate-2f',
    rule: 'quorum (certificates)',
    file: 'src/committee/certification.ts',
    search: 'if (!cert.done && cert.sigs.size >= cert.committee.threshold) this.certify(f.height, cert)',
    replace: 'if (!cert.done && cert.sigs.size >= cert.committee.threshold - 1) this.certify(f.height, cert)',
    description: 'a batch is certified with 2f finalize signatures'
  },
  {
    id: 'finalize-unchecked',
    rule: 'certificates',
    file: 'src/committee/certification.ts',
    search: '    if (!c.verifier(f.sig, finalizeBytes(c.ledger.chain, f.epoch, f.height, f.header), f.validator)) return\n',
    replace: '',
    description: 'finalize signatures are taken without checking them'
  },
  {
    id: 'certificate-index-alias',
    rule: 'certificate index',
    file: 'src/committee/certificate.ts',
    search: 'const key = c.validators[s.validator]',
    replace: 'const key = c.validators[s.validator % c.validators.length]',
    description: 'a certificate\'s validator index is taken modulo n (aliases a member)',
    first: 'tests'
  },
  {
    id: 'evidence-half-unchecked',
    rule: 'evidence',
    file: 'src/committee/evidence.ts',
    search: '      if (!verifier(b.sig, finalizeBytes(chain, b.epoch, b.height, b.header), b.validator)) return undefined\n',
    replace: '',
    description: 'finalize evidence is kept with one half unchecked',
    first: 'tests'
  },
  {
    id: 'vote-not-recorded',
    rule: 'persistence',
    file: 'src/committee/driver.ts',
    search: '    const stored = c.persist.signed(type, h, round)\n    if (stored != null) {',
    replace: '    const stored = undefined as any\n    if (stored != null) {',
    description: 'a restarted validator signs a new vote instead of re-sending the one it recorded',
    first: 'tests'
  },
  {
    id: 'tally-need-1',
    rule: 'auctions (tallies)',
    file: 'src/committee/auction.ts',
    search: 'return Math.max(1, Math.min(closing.committee.f + 1, tallies))',
    replace: 'return 1',
    description: 'a bid counts when one tally names it (a Byzantine validator adds a late bid)',
    first: 'tests'
  },
  {
    id: 'tally-non-member',
    rule: 'auctions (tallies)',
    file: 'src/committee/auction.ts',
    search: '  if (!closing.committee.index.has(k)) return false\n',
    replace: '',
    description: 'a tally signed by a key outside the closing batch\'s committee counts',
    first: 'tests'
  },
  {
    id: 'tally-twice',
    rule: 'auctions (tallies)',
    file: 'src/committee/auction.ts',
    search: 'return !counted.some((t) => t.signer === k)',
    replace: 'return true',
    description: 'a second tally by the same validator counts again',
    first: 'tests'
  },
  {
    id: 'chain-not-extending',
    rule: 'history',
    file: 'src/committee/committee-file.ts',
    search: 'for (let i = 0; i < held.length; i++) if (!equal(held[i].info.hash, next[i].info.hash)) return false',
    replace: 'for (let i = 0; i < held.length; i++) if (false) return false',
    description: 'a longer committee chain is adopted even when it replaces a file held (a fork by retired keys)',
    first: 'tests'
  },
  {
    id: 'certificate-epoch-end',
    rule: 'certificate epoch',
    file: 'src/committee/certificate.ts',
    search: '  if (until != null && cert.height >= until) return',
    replace: '  if (false) return',
    description: 'a certificate at or past its epoch\'s end (signed by retired keys) verifies',
    first: 'tests'
  },
  {
    id: 'evidence-non-member',
    rule: 'evidence',
    file: 'src/committee/evidence.ts',
    search: '    if (committeeOf == null) return true\n',
    replace: '    if (committeeOf == null || true) return true\n',
    description: 'evidence signed by keys outside the epoch it names is kept (and crowds out real evidence)',
    first: 'tests'
  },
  {
    id: 'tally-ties-unseeded',
    rule: 'fairness',
    file: 'src/committee/tallies.ts',
    search: 'const cheaper = cheapestFirst(order.id, seed)',
    replace: 'const cheaper = cheapestFirst(order.id)',
    description: 'a tally ranks tied bids by a key a provider can compute before bidding (and grind into every tally)',
    first: 'tests'
  }
]
