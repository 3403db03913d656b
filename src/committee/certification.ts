// Certification: after deciding a height every validator signs a finalize statement for the header
// hash (persisted first; never two headers for one height); a quorum of them is the batch
// certificate, and each lease of the batch gets its certificate (the batch's plus its Merkle path).
import { encodeCbor, decodeCbor } from '../wire/codec.ts'
import type { CommitteeSignature } from '../wire/messages/lease-certificate.ts'
import { FUTURE_HEIGHTS, SYNC_BATCHES } from './constants.ts'
import { finalizeBytes } from './batch.ts'
import type { BatchValue } from './batch.ts'
import type { Plan } from './ledger.ts'
import type { CommitteeInfo } from './committee-file.ts'
import { validateSignatureList } from './frames.ts'
import type { FinalizeSig } from './frames.ts'
import { finalizeEvidence } from './evidence.ts'
import { leaseCertificate } from './certificate.ts'
import type { CertifiedBatch } from './certificate.ts'
import { merkleProofs } from './merkle.ts'
import { equal, hex } from './bytes.ts'
import type { Core } from './core.ts'

export interface CertState {
  epoch: number
  header: Uint8Array
  bodyHash: Uint8Array
  committee: CommitteeInfo
  sigs: Map<number, Uint8Array>
  /** first finalize signature seen per validator, whatever its header (for evidence) */
  seen: Map<number, FinalizeSig>
  plan?: Plan
  done: boolean
}

const KEEP_CERT_HEIGHTS = 256

export class Certification {
  private readonly core: Core
  private readonly certs = new Map<number, CertState>()
  private readonly pending = new Map<number, FinalizeSig[]>()
  /** the lowest height not yet certified */
  lowestUncertified = 1

  constructor (core: Core) { this.core = core }

  get (h: number): CertState | undefined { return this.certs.get(h) }

  /** a decided batch waits for its finalize signatures */
  open (h: number, v: BatchValue, committee: CommitteeInfo, plan: Plan): CertState {
    const cert: CertState = { epoch: committee.epoch, header: v.hash, bodyHash: v.bodyHash, committee, sigs: new Map(), seen: new Map(), plan, done: false }
    this.certs.set(h, cert)
    this.certs.delete(h - KEEP_CERT_HEIGHTS)
    return cert
  }

  /** after a replay: a batch whose certificate was stored needs nothing more */
  markDone (h: number): void {
    const cert = this.certs.get(h)
    if (cert != null) { cert.done = true; cert.plan = undefined }
  }

  advanceLowest (last: number): void {
    while (this.certs.get(this.lowestUncertified)?.done === true || (this.lowestUncertified <= last && this.certs.get(this.lowestUncertified) == null)) this.lowestUncertified++
  }

  /** signs (once, persisted) and sends this node's finalize signature for height h */
  finalize (h: number, cert: CertState): void {
    const c = this.core
    const idx = c.myIndex(cert.committee)
    if (idx < 0) return
    const stored = c.persist.signed('finalize', h, 0)
    let sig: Uint8Array
    if (stored != null) {
      if (!equal(stored.value, cert.header)) {
        c.log.warn({ height: h }, `refusing to sign finalize for height ${h}: signed another header before`)
        return
      }
      sig = stored.bytes
    } else {
      sig = c.signer.sign(finalizeBytes(c.ledger.chain, cert.epoch, h, cert.header))
      c.persist.recordSigned({ kind: 'finalize', height: h, round: 0, value: cert.header, bytes: sig })
    }
    const f: FinalizeSig = { epoch: cert.epoch, height: h, header: cert.header, validator: c.signer.publicKey, sig }
    c.broadcast({ kind: 'fin', body: f })
    this.onFinalize(f)
  }

  /** finalize signatures that came before their height was decided here */
  flushPending (h: number): void {
    for (const f of this.pending.get(h) ?? []) this.onFinalize(f)
    this.pending.delete(h)
  }

  onFinalize (f: FinalizeSig): void {
    const c = this.core
    if (f.height > c.ledger.height) {
      // kept unverified for a little while: only a member of the committee of that height counts
      if (f.height <= c.ledger.height + FUTURE_HEIGHTS + SYNC_BATCHES && c.ledger.committeeAt(f.height).index.has(hex(f.validator))) {
        const list = this.pending.get(f.height) ?? []
        if (list.length < 4 * 128) list.push(f)
        this.pending.set(f.height, list)
      }
      return
    }
    const cert = this.certs.get(f.height)
    if (cert == null || f.epoch !== cert.epoch) return
    const idx = cert.committee.index.get(hex(f.validator))
    if (idx == null) return
    const prev = cert.seen.get(idx)
    if (prev != null && equal(prev.header, f.header)) return
    if (!c.verifier(f.sig, finalizeBytes(c.ledger.chain, f.epoch, f.height, f.header), f.validator)) return
    if (prev != null) {
      const e = finalizeEvidence(prev, f)
      if (e != null) c.evidence.add(e, true)
      return
    }
    cert.seen.set(idx, f)
    if (!equal(f.header, cert.header)) {
      c.log.warn({ validator: idx, height: f.height }, `validator ${idx} signed finalize for another header at height ${f.height}`)
      return
    }
    cert.sigs.set(idx, f.sig)
    if (!cert.done && cert.sigs.size >= cert.committee.threshold) this.certify(f.height, cert)
  }

  private certify (h: number, cert: CertState): void {
    const c = this.core
    cert.done = true
    const signatures: CommitteeSignature[] = [...cert.sigs.entries()].sort((a, b) => a[0] - b[0]).map(([validator, sig]) => ({ validator, sig }))
    c.persist.saveSignatures(h, encodeCbor(signatures))
    while (this.certs.get(this.lowestUncertified)?.done === true) this.lowestUncertified++
    const plan = cert.plan
    cert.plan = undefined
    c.emit('certified', { height: h, epoch: cert.epoch, header: cert.header, signatures: signatures.length })
    if (plan == null) return
    const batch: CertifiedBatch = { epoch: cert.epoch, height: h, header: cert.header, bodyHash: cert.bodyHash, signatures }
    if (plan.leases.length > 0 && c.listening('lease')) {
      const paths = merkleProofs(plan.leaves)
      for (const l of plan.leases) c.emit('lease', { lease: l, certificate: leaseCertificate(l, paths[l.index], batch) })
    }
    for (const e of plan.expired) c.emit('expired', e)
    for (const x of plan.closed) c.emit('closed', x)
  }

  /**
   * The certificate signatures a synced batch came with (CBOR list of {validator, sig}, through
   * its schema); each is checked like a finalize frame.
   */
  absorb (h: number, bytes: Uint8Array): void {
    const cert = this.certs.get(h)
    if (cert == null) return
    let list: CommitteeSignature[]
    try { list = validateSignatureList(decodeCbor(bytes, 64 * 1024, 'signatures'), 'signatures') } catch { return }
    for (const s of list.slice(0, cert.committee.validators.length)) {
      const key = cert.committee.validators[s.validator]
      if (key == null) continue
      this.onFinalize({ epoch: cert.epoch, height: h, header: cert.header, validator: key, sig: s.sig })
    }
  }

  /** the finalize frames of the certificates a peer lacks (from `certified`, up to `below`) */
  framesFor (from: number, below: number): FinalizeSig[] {
    const out: FinalizeSig[] = []
    for (let h = from; h < Math.min(this.lowestUncertified, from + SYNC_BATCHES, below); h++) {
      const cert = this.certs.get(h)
      if (cert == null) continue
      for (const [idx, sig] of cert.sigs) out.push({ epoch: cert.epoch, height: h, header: cert.header, validator: cert.committee.validators[idx], sig })
    }
    return out
  }
}
