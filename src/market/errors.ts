export const MarketErrorCode = {
  /** engine or strategy configuration is wrong; `path` names the field */
  CONFIG: 'ERR_MARKET_CONFIG',
  /** a decimal amount is malformed or out of range */
  /** an order could not be built from a loaded SDL */
  INVALID_ORDER: 'ERR_MARKET_INVALID_ORDER',
  /** an auditor attestation does not verify */
  BAD_ATTESTATION: 'ERR_MARKET_BAD_ATTESTATION',
  /** a pricing strategy could not give a price; `reason` is the decision's reason code */
  PRICING: 'ERR_MARKET_PRICING',
  /** the engine was stopped */
  STOPPED: 'ERR_MARKET_STOPPED',
  /** a short ID matches more than one order */
  AMBIGUOUS_ID: 'ERR_MARKET_AMBIGUOUS_ID',
  /** a lease's deploy, update or close cut short by a restart could not be finished (yet) */
  UNFINISHED: 'ERR_MARKET_UNFINISHED'
} as const
export type MarketErrorCode = typeof MarketErrorCode[keyof typeof MarketErrorCode]

/** Anything the market layer refuses. `path` names the offending field when there is one. */
export class MarketError extends Error {
  readonly code: MarketErrorCode
  readonly path?: string
  constructor (code: MarketErrorCode, message: string, path?: string) {
    super(path != null ? `${path}: ${message}` : message)
    this.name = 'MarketError'
    this.code = code
    this.path = path
  }
}

/**
 * A pricing strategy's refusal to price an order. `reason` is the reason code the bid engine
 * records (ERR_PRICING_SCRIPT, ERR_UNPRICED_RESOURCE, …); `message` says what happened.
 */
export class PricingError extends MarketError {
  readonly reason: string
  constructor (reason: string, message: string) {
    super(MarketErrorCode.PRICING, message)
    this.name = 'PricingError'
    this.reason = reason
  }
}
