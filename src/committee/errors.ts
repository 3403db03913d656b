export const CommitteeErrorCode = {
  BAD_FILE: 'ERR_COMMITTEE_BAD_FILE',
  BAD_CHAIN: 'ERR_COMMITTEE_BAD_CHAIN',
  BAD_CERTIFICATE: 'ERR_COMMITTEE_BAD_CERTIFICATE',
  BAD_FRAME: 'ERR_COMMITTEE_BAD_FRAME',
  NOT_VALIDATOR: 'ERR_COMMITTEE_NOT_VALIDATOR',
  STOPPED: 'ERR_COMMITTEE_STOPPED',
  INCONSISTENT: 'ERR_COMMITTEE_INCONSISTENT',
  /** an item refused before its signature was checked, because it can no longer count */
  SHED: 'ERR_COMMITTEE_SHED',
  /** a proposal, vote, approval or evidence whose signer is not a member of the epoch it names */
  NOT_MEMBER: 'ERR_COMMITTEE_NOT_MEMBER',
  /** a frame a peer outside the committee may not send, or sent beyond its rate */
  NOT_ALLOWED: 'ERR_COMMITTEE_NOT_ALLOWED',
  /** evidence that proves nothing (halves that do not conflict, or do not verify) */
  BAD_EVIDENCE: 'ERR_COMMITTEE_BAD_EVIDENCE'
} as const
export type CommitteeErrorCode = typeof CommitteeErrorCode[keyof typeof CommitteeErrorCode]

export class CommitteeError extends Error {
  readonly code: CommitteeErrorCode
  readonly path?: string
  constructor (code: CommitteeErrorCode, message: string, path?: string) {
    super(path != null ? `${path}: ${message}` : message)
    this.name = 'CommitteeError'
    this.code = code
    this.path = path
  }
}
