// Lease certificates: the final batch's header hash, the lease's Merkle path to it, and 2f+1
// finalize signatures of the epoch's validators. Anyone holding the committee file can check one.
import { verify as verifyNative } from '../identity/ed25519.ts'
import type { LeaseCertificateBody, CommitteeSignature } from '../wire/messages/lease-certificate.ts'
import type { CommitteeFile, CommitteeInfo, Verifier } from './committee-file.ts'
import { finalizeBytes } from './batch.ts'
import { headerHash, leaseLeaf, rootFromPath } from './merkle.ts'
import { equal } from './bytes.ts'
import type { Lease } from './ledger.ts'

export interface CertifiedBatch {
  epoch: number
  height: number
  header: Uint8Array
  bodyHash: Uint8Array
  signatures: CommitteeSignature[]
}

export function leaseCertificate (lease: Lease, path: readonly Uint8Array[], batch: CertifiedBatch): LeaseCertificateBody {
  return {
    order: lease.order,
    bid: lease.bid,
    tenant: lease.tenant,
    provider: lease.provider,
    epoch: batch.epoch,
    height: batch.height,
    batch: batch.header,
    index: lease.index,
    proof: [...path, batch.bodyHash],
    signatures: batch.signatures
  }
}

export interface CertificateVerdict { ok: boolean, reason?: string }

/**
 * Checks a lease certificate offline against the committee file of its epoch, or against the
 * chain of files (whose own validity the caller checks with verifyCommitteeChain). The height must
 * lie within the epoch: at or after its start, and before the next epoch's start when the chain
 * (or a linked file) knows it. Every signature must verify and come from a distinct validator of
 * the file, named by its index (an index outside the file is refused, never wrapped around), and
 * there must be at least the file's threshold of them.
 */
export function verifyLeaseCertificate (cert: LeaseCertificateBody, committee: CommitteeFile | CommitteeInfo | readonly CommitteeFile[], opts: { verifier?: Verifier } = {}): CertificateVerdict {
  let file: CommitteeFile | CommitteeInfo
  let until: number | undefined
  if (Array.isArray(committee)) {
    // a chain (checked by the caller): the epoch's file, and where the epoch ends
    const chain = committee as readonly CommitteeFile[]
    const i = chain.findIndex((f) => f.info.epoch === cert.epoch)
    if (i < 0) return { ok: false, reason: `the committee chain has no epoch ${cert.epoch}` }
    file = chain[i]
    until = chain[i + 1]?.info.startHeight ?? chain[i].until
  } else {
    file = committee as CommitteeFile | CommitteeInfo
    until = 'info' in file ? file.until : undefined
  }
  const c: CommitteeInfo = 'info' in file ? file.info : file
  const verifier = opts.verifier ?? verifyNative
  if (cert.epoch !== c.epoch) return { ok: false, reason: `certificate is of epoch ${cert.epoch}; the committee file is epoch ${c.epoch}` }
  if (cert.height < c.startHeight) return { ok: false, reason: `height ${cert.height} lies before epoch ${c.epoch} starts (${c.startHeight})` }
  if (until != null && cert.height >= until) return { ok: false, reason: `height ${cert.height} lies at or past the end of epoch ${c.epoch} (the next epoch starts at ${until}): its keys certify nothing there` }
  if (cert.proof.length < 1) return { ok: false, reason: 'the proof lacks the header body hash' }
  const path = cert.proof.slice(0, -1)
  const root = rootFromPath(leaseLeaf(cert), cert.index, path)
  if (root == null) return { ok: false, reason: `index ${cert.index} lies outside a tree of depth ${path.length}` }
  if (!equal(headerHash(root, cert.proof[cert.proof.length - 1]), cert.batch)) return { ok: false, reason: 'the lease is not included in the batch: the proof does not lead to the header hash' }
  const msg = finalizeBytes(c.chain, c.epoch, cert.height, cert.batch)
  const seen = new Set<number>()
  for (const s of cert.signatures) {
    if (seen.has(s.validator)) return { ok: false, reason: `validator ${s.validator} signs twice` }
    seen.add(s.validator)
    const key = c.validators[s.validator]
    if (key == null) return { ok: false, reason: `validator index ${s.validator} is not in the committee (n=${c.validators.length})` }
    if (!verifier(s.sig, msg, key)) return { ok: false, reason: `the signature of validator ${s.validator} does not verify` }
  }
  if (seen.size < c.threshold) return { ok: false, reason: `${seen.size} signatures; the committee's threshold is ${c.threshold}` }
  return { ok: true }
}
