// Step 4 of a decision: the strategy prices the order, and each group's price must be a valid
// amount in the group's denomination, no higher than its maxPrice.
import type { OrderBody, Price } from '../wire/index.ts'
import { parseAmount } from '../wire/amount.ts'
import { ReasonCode } from './constants.ts'
import type { Reason } from './decisions.ts'
import { PricingError } from './errors.ts'
import type { PricingRequest, PricingStrategy } from './pricing/strategy.ts'
import type { HandleOrderOptions } from './bid-types.ts'
import { errorMessage } from '../util/index.ts'

/** the prices to bid, and every reason they cannot be bid (empty when they can) */
export async function priceOrder (pricing: PricingStrategy, req: PricingRequest, body: OrderBody, opts: HandleOrderOptions): Promise<{ prices: Price[], reasons: Reason[] }> {
  const reasons: Reason[] = []
  let prices: Price[] = []
  try {
    prices = await pricing.price(req, { signal: opts.signal, onProgress: opts.onProgress })
    if (!Array.isArray(prices) || prices.length !== body.groups.length) {
      throw new PricingError(ReasonCode.PRICING_FAILED, `pricing gave ${Array.isArray(prices) ? prices.length : 'no'} prices for ${body.groups.length} groups`)
    }
    prices.forEach((p, i) => {
      try { parseAmount(p.amount) } catch (err) { throw new PricingError(ReasonCode.PRICING_FAILED, `price for group ${body.groups[i].name}: ${errorMessage(err)}`) }
    })
    body.groups.forEach((g, i) => {
      const p = prices[i]
      if (p.denom !== g.maxPrice.denom) {
        reasons.push({ code: ReasonCode.DENOM_MISMATCH, group: g.name, message: `group ${g.name} pays in ${g.maxPrice.denom}, provider prices in ${p.denom}` })
      } else if (parseAmount(p.amount) > parseAmount(g.maxPrice.amount)) {
        reasons.push({ code: ReasonCode.PRICE_ABOVE_MAX, group: g.name, message: `price ${p.amount} > max ${g.maxPrice.amount} ${p.denom} for group ${g.name}` })
      }
    })
  } catch (err) {
    const code = err instanceof PricingError ? err.reason : ReasonCode.PRICING_FAILED
    reasons.push({ code, message: errorMessage(err) })
  }
  return { prices, reasons }
}
