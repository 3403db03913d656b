// The provider's slice of the node configuration, resolved once where the node is composed.
import { acceptsUnenforcedStorage } from '../../config/index.ts'
import { ingressInit } from '../../config/ingress.ts'
import type { SoukConfig } from '../../config/index.ts'
import type { ProviderRoleInit } from './index.ts'

export function providerRoleInit (config: SoukConfig, home: string): ProviderRoleInit {
  const p = config.provider
  return {
    cpu: p.cpu,
    memory: p.memory,
    storage: p.storage,
    cpuOvercommit: p.cpuOvercommit,
    memoryOvercommit: p.memoryOvercommit,
    manifestTimeoutMs: p.manifestTimeoutMs,
    usageIntervalMs: p.usageIntervalMs,
    usageGraceMs: p.usageGraceMs,
    attributes: p.attributes,
    prices: p.prices,
    denom: p.denom,
    pricingScript: p.pricingScript,
    home,
    acceptUnenforcedStorage: acceptsUnenforcedStorage(config),
    ingress: ingressInit(config, home)
  }
}
