export const WireErrorCode = {
  TOO_LARGE: 'ERR_WIRE_TOO_LARGE',
  MALFORMED: 'ERR_WIRE_MALFORMED',
  /** valid CBOR, but not the one encoding protocols/wire.md §1 allows */
  NON_CANONICAL: 'ERR_WIRE_NON_CANONICAL',
  SCHEMA: 'ERR_WIRE_SCHEMA',
  WRONG_TYPE: 'ERR_WIRE_WRONG_TYPE',
  UNSUPPORTED_VERSION: 'ERR_WIRE_UNSUPPORTED_VERSION',
  BAD_KEY: 'ERR_WIRE_BAD_KEY',
  BAD_SIGNATURE: 'ERR_WIRE_BAD_SIGNATURE',
  STALE: 'ERR_WIRE_STALE',
  FUTURE: 'ERR_WIRE_FUTURE',
  REPLAY: 'ERR_WIRE_REPLAY',
  /** the replay window is full of messages too recent to forget; try again later */
  WINDOW_FULL: 'ERR_WIRE_WINDOW_FULL'
} as const
export type WireErrorCode = typeof WireErrorCode[keyof typeof WireErrorCode]

/** Anything wrong with bytes that came off the wire. `path` names the field when there is one. */
export class WireError extends Error {
  readonly code: WireErrorCode
  readonly path?: string
  constructor (code: WireErrorCode, message: string, path?: string) {
    super(path != null ? `${path}: ${message}` : message)
    this.name = 'WireError'
    this.code = code
    this.path = path
  }
}

export function schemaError (path: string, message: string): WireError {
  return new WireError(WireErrorCode.SCHEMA, message, path)
}

/** A price amount that is not a non-negative decimal with at most 30 integer and 18 fraction digits. */
export class AmountError extends Error {
  readonly code = 'ERR_BAD_AMOUNT'
  readonly path?: string
  constructor (message: string, path?: string) {
    super(path != null ? `${path}: ${message}` : message)
    this.name = 'AmountError'
    this.path = path
  }
}
