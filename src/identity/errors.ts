export class KeystoreError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'KeystoreError'
    this.code = code
  }
}

export const KeystoreErrorCode = {
  NOT_FOUND: 'ERR_KEY_NOT_FOUND',
  EXISTS: 'ERR_KEY_EXISTS',
  INSECURE: 'ERR_KEY_FILE_INSECURE',
  MALFORMED: 'ERR_KEY_FILE_MALFORMED'
} as const
