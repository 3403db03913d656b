export const WanErrorCode = {
  UNKNOWN_PROFILE: 'ERR_WAN_UNKNOWN_PROFILE',
  UNKNOWN_REGION: 'ERR_WAN_UNKNOWN_REGION',
  BAD_LINK: 'ERR_WAN_BAD_LINK',
  BAD_ADDRESS: 'ERR_WAN_BAD_ADDRESS'
} as const
export type WanErrorCode = typeof WanErrorCode[keyof typeof WanErrorCode]

/** A WAN emulation setting that cannot be used: unknown profile or region, impossible link values. */
export class WanError extends Error {
  readonly code: WanErrorCode
  constructor (code: WanErrorCode, message: string) {
    super(message)
    this.name = 'WanError'
    this.code = code
  }
}
