// The provider role lives in provider/; this path stays for the code that imports it here.
export { providerRole, providerRoleInit, capacityReasons, pricingFromConfig, bidAttributes, historyEntry, lifecycleEvent, ProviderError, ProviderErrorCode } from './provider/index.ts'
export type { ProviderRole, ProviderRoleInit, ProviderRoleComponents, BidTerms, IngressPlan, LifecycleEvent, SavedLease } from './provider/index.ts'
