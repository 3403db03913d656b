// Epochs: the signed committee files. When a batch ends an epoch, each validator of that epoch
// signs the next file (persisted, once) and sends the signature; a file holding the previous
// epoch's threshold of them is valid and is announced. Signatures a node lacks are repeated with
// every heartbeat, since nothing else carries them.
import { addFileSignature, committeeFileToJson, committeeFileFromJson, fileSigningBytes, linkCommitteeChain } from './committee-file.ts'
import type { CommitteeFile, CommitteeInfo } from './committee-file.ts'
import type { FileSig } from './frames.ts'
import { equal, hex } from './bytes.ts'
import type { Core } from './core.ts'

export class Epochs {
  private readonly core: Core
  private readonly files = new Map<number, CommitteeFile>()
  private readonly pending = new Map<number, FileSig[]>()

  constructor (core: Core, chain: readonly CommitteeFile[]) {
    this.core = core
    for (const f of chain) this.files.set(f.info.epoch, f)
    for (const row of core.persist.files()) {
      try { const f = committeeFileFromJson(JSON.parse(row.json)); if (!this.files.has(f.info.epoch)) this.files.set(f.info.epoch, f) } catch {}
    }
  }

  /** files valid so far: the genesis, and each later one once the previous epoch's threshold signed it */
  valid (): CommitteeFile[] {
    const out: CommitteeFile[] = []
    const sorted = [...this.files.values()].sort((a, b) => a.info.epoch - b.info.epoch)
    for (const f of sorted) {
      const prev = out.at(-1)
      if (f.info.epoch !== 0 && (prev == null || prev.info.epoch !== f.info.epoch - 1 || f.signatures.length < prev.info.threshold)) break
      out.push(f)
    }
    return linkCommitteeChain(out)
  }

  /** a batch ended the epoch: sign the next file (once) if this node was a validator of the epoch */
  next (info: CommitteeInfo): void {
    const c = this.core
    if (!this.files.has(info.epoch)) this.files.set(info.epoch, { info, signatures: [] })
    const prev = c.ledger.committees.find((x) => x.epoch === info.epoch - 1)
    if (prev != null && prev.index.has(hex(c.signer.publicKey))) {
      let sig: Uint8Array
      const stored = c.persist.signed('file', info.epoch, 0)
      if (stored != null && equal(stored.value, info.hash)) sig = stored.bytes
      else if (stored != null) {
        c.log.warn({ epoch: info.epoch }, `refusing to sign the committee file of epoch ${info.epoch}: signed another file for that epoch before`)
        return
      }
      else {
        sig = c.signer.sign(fileSigningBytes(info))
        c.persist.recordSigned({ kind: 'file', height: info.epoch, round: 0, value: info.hash, bytes: sig })
      }
      const fs: FileSig = { epoch: info.epoch, file: info.hash, validator: c.signer.publicKey, sig }
      c.broadcast({ kind: 'fsig', body: fs })
      this.onFileSig(fs)
    }
    for (const s of this.pending.get(info.epoch) ?? []) this.onFileSig(s)
    this.pending.delete(info.epoch)
  }

  onFileSig (s: FileSig): void {
    const c = this.core
    const file = this.files.get(s.epoch)
    if (file == null || file.info.previous.length === 0) {
      // a file this node does not know yet: kept unverified, only from a validator of the epoch before
      const prev = c.ledger.committees.find((x) => x.epoch === s.epoch - 1)
      if (file == null && prev != null && prev.index.has(hex(s.validator)) && s.epoch <= c.ledger.committees.length + 1) {
        const list = this.pending.get(s.epoch) ?? []
        if (list.length < prev.validators.length && !list.some((x) => equal(x.validator, s.validator))) list.push(s)
        this.pending.set(s.epoch, list)
      }
      return
    }
    if (!equal(s.file, file.info.hash)) return
    const prev = c.ledger.committees.find((x) => x.epoch === s.epoch - 1)
    if (prev == null || !prev.index.has(hex(s.validator))) return
    if (file.signatures.some((x) => equal(x.validator, s.validator))) return
    if (!c.verifier(s.sig, fileSigningBytes(file.info), s.validator)) return
    const before = file.signatures.length
    const next = addFileSignature(file, { validator: s.validator, sig: s.sig })
    this.files.set(s.epoch, next)
    if (before < prev.threshold && next.signatures.length >= prev.threshold) {
      c.persist.saveFile(s.epoch, JSON.stringify(committeeFileToJson(next)))
      c.log.info({ epoch: s.epoch, signatures: next.signatures.length }, `committee file of epoch ${s.epoch} signed by enough of the previous committee`)
      c.emit('epoch', next)
    }
  }

  /**
   * A file signature is sent once when an epoch starts, and nothing else carries it: a validator
   * that missed some would never hold the new file (nor announce it). Each heartbeat repeats this
   * node's own signature of the newest file; a receiver that has it stops at a lookup.
   */
  repeatOwn (): void {
    const c = this.core
    let newest: CommitteeFile | undefined
    for (const f of this.files.values()) if (newest == null || f.info.epoch > newest.info.epoch) newest = f
    if (newest == null || newest.info.epoch === 0) return
    const mine = newest.signatures.find((x) => equal(x.validator, c.signer.publicKey))
    if (mine == null) return
    c.broadcast({ kind: 'fsig', body: { epoch: newest.info.epoch, file: newest.info.hash, validator: c.signer.publicKey, sig: mine.sig } })
  }
}
