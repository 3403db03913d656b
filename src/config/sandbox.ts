// The provider's sandbox settings (provider.sandbox in souk.yaml) as the runtimes take them.
import { join } from 'node:path'
import type { DockerRuntimeInit, KubernetesRuntimeInit } from '../runtime/index.ts'
import type { SoukConfig } from './config.ts'

/** what the Docker runtime needs from provider.sandbox; `home` is the node home (default volume store) */
export function dockerSandboxInit (config: SoukConfig, home: string): Pick<DockerRuntimeInit, 'ociRuntime' | 'firewall' | 'allowNetworks' | 'blockNetworks' | 'allowRegistries' | 'volumeStore'> {
  const s = config.provider.sandbox
  // sized volumes need root (loop devices); without it persistent volumes are not held to size
  const volumeStore = s.volumeStore !== '' ? s.volumeStore : process.getuid?.() === 0 ? join(home, 'volumes') : undefined
  return {
    ociRuntime: s.ociRuntime,
    firewall: s.firewall,
    allowNetworks: [...s.allowNetworks],
    blockNetworks: [...s.blockNetworks],
    allowRegistries: [...s.allowRegistries],
    ...(volumeStore != null ? { volumeStore } : {})
  }
}

export function kubernetesSandboxInit (config: SoukConfig): Pick<KubernetesRuntimeInit, 'userNamespaces' | 'runAsNonRoot' | 'allowNetworks' | 'blockNetworks'> {
  const s = config.provider.sandbox
  return { userNamespaces: s.userNamespaces, runAsNonRoot: s.runAsNonRoot, allowNetworks: [...s.allowNetworks], blockNetworks: [...s.blockNetworks] }
}

/**
 * Whether the provider bids on storage its runtime cannot hold to size. `auto` accepts it only on
 * a test network (network.testNetwork: one machine or a LAN, where the deployments are the
 * operator's own); a provider open to strangers declines it.
 */
export function acceptsUnenforcedStorage (config: SoukConfig): boolean {
  const v = config.provider.sandbox.unenforcedStorage
  return v === 'accept' || (v === 'auto' && config.network.testNetwork)
}
