export const ProviderErrorCode = {
  /** the provider's capacity and bid engine exist once it has started */
  NOT_STARTED: 'ERR_PROVIDER_NOT_STARTED'
} as const
export type ProviderErrorCode = typeof ProviderErrorCode[keyof typeof ProviderErrorCode]

export class ProviderError extends Error {
  readonly code: ProviderErrorCode
  constructor (code: ProviderErrorCode, message: string) {
    super(message)
    this.name = 'ProviderError'
    this.code = code
  }
}
