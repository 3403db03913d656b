// Errors of the stream protocols' own answers (the helper's and the frames' are NetErrors).

/** The provider refused or failed the command; `code` is its answer's code (ERR_LEASE_CLOSED, …). */
export class ExecRefusedError extends Error {
  readonly code: string
  constructor (code: string, reason: string) {
    super(reason)
    this.name = 'ExecRefusedError'
    this.code = code
  }
}
