import './messages.ts'

export { committeeNode } from './node.ts'
export type {
  CommitteeNode, CommitteeNodeInit, CommitteeComponents, CommitteeEvents, CommitteeStatus, Clock, Transport, ProposerPolicy,
  SubmitResult, SubmitOptions, BatchEvent, CertifiedEvent, LeaseEvent
} from './node.ts'
export {
  linkCommitteeChain, extendsChain, buildCommittee, genesisCommitteeFile, thresholdFor, signCommitteeFile, addFileSignature, countFileSignatures, verifyCommitteeFile,
  verifyCommitteeChain, committeeFileToJson, committeeFileFromJson, parseCommitteeFiles, decodeCommitteePayload, fileSigningBytes
} from './committee-file.ts'
export type { CommitteeFile, CommitteeInfo, CommitteeFields, CommitteeFileJson, FileSignature, Verifier } from './committee-file.ts'
export { verifyLeaseCertificate, leaseCertificate } from './certificate.ts'
export type { CertificateVerdict, CertifiedBatch } from './certificate.ts'
export { match, misfit, totals, tieKey, NO_SEED } from './matching.ts'
export type { BidCandidate, MatchResult } from './matching.ts'
export { Ledger, ExpiryCode } from './ledger.ts'
export { ProviderRecords, acceptMisfit, EMPTY_RECORD } from './record.ts'
export type { ProviderRecord, RecordLookup } from './record.ts'
export type { Lease, Expiry, Closure, Plan, PendingChange } from './ledger.ts'
export { checkEvidence } from './evidence.ts'
export type { Evidence } from './evidence.ts'
export { finalizeBytes, medianTime } from './batch.ts'
export { leaseLeaf, merkleRoot, merkleProofs, rootFromPath, headerHash } from './merkle.ts'
export { encodeFrame, decodeFrame } from './frames.ts'
export type { Frame } from './frames.ts'
export { committeePersistence, COMMITTEE_MIGRATIONS, COMMITTEE_MODULE } from './persist.ts'
export { CommitteeError, CommitteeErrorCode } from './errors.ts'
export { committeeLogger } from './logger.ts'
export type { CommitteeLogger, CommitteeLogFn, CommitteeLogLine } from './logger.ts'
export { CommitteeTag, ChangeAction, VoteType, Defaults, Bounds, EPOCH_DELAY, MAX_BATCH_ITEMS, MAX_TALLY_BIDS, CLOSE_TIMEOUT_MS, SERVED_AFTER_MS, PROVIDER_FAILED_WINDOW_MS } from './constants.ts'
export { BoundName } from './metrics.ts'
export type { ProposalBody, VoteBody, ChangeBody, ApproveBody, HeaderBody, TallyBody } from './messages.ts'
export { leaseCertificateToJson, parseLeaseCertificate } from './certificate-json.ts'
export type { LeaseCertificateJson } from './certificate-json.ts'
