// The market: orders from deployment files, the provider's bid engine and its pricing.
export { buildOrder } from './order-builder.ts'
export type { BuildOrderOptions } from './order-builder.ts'
export { bidEngine } from './bid-engine.ts'
export type {
  BidEngine, BidEngineInit, BidEngineComponents, BidTermsUpdate, PricingConfig, HandleOrderOptions, HeldReservation,
  MarketMetrics, MarketProgressEvent
} from './bid-types.ts'
export type { ReservationProvider, ReservationDemand, ReserveResult } from './reservations.ts'
export { memoryDecisionStore, formatDecision } from './decisions.ts'
export type { Decision, DecisionStore, Reason, BidState } from './decisions.ts'
export { systemClock, manualClock } from './clock.ts'
export type { Clock, ManualClock, Timer } from './clock.ts'
export { attestationBytes, signAttestation, verifyAttestation, auditorNames, auditorName } from './attestation.ts'
export { parseAmount, formatAmount, addAmounts, multiplyAmount, compareAmounts, mulDivCeil, AMOUNT_ONE, AmountError } from '../wire/index.ts'
export * from './pricing/index.ts'
export { MarketError, MarketErrorCode, PricingError } from './errors.ts'
export * from './constants.ts'
export { usageMeter, usageAuditor, usageAmount, UsageDisputeError, UsageRule } from './usage.ts'
export type { UsageMeter, UsageMeterInit, UsageMeterComponents, UsageRecord, MeteredLease, AuditedLease } from './usage.ts'
export { providerLeases, checkManifestAgainstOrder, LeaseRefusedError, LeaseRefusal } from './provider-leases.ts'
export type { ProviderLeases, ProviderLeasesInit, ProviderLeasesComponents, ProviderLease, LeaseState, SavedProviderLease } from './provider-leases.ts'
export { leaseHistory, memoryHistoryStore } from './lease-history.ts'
export type { LeaseHistory, LeaseHistoryInit, HistoryEntry, HistoryStore } from './lease-history.ts'
