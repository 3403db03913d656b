import type { SoukConfig } from '../config/index.ts'

/**
 * where the provider's runtime is: the Docker endpoint (provider.dockerHost, which config
 * resolution already set from DOCKER_HOST where that applies) or the kubeconfig
 */
export function runtimeEndpoint (config: Pick<SoukConfig, 'provider'>): string {
  const p = config.provider
  if (p.runtime === 'kubernetes') return p.kubeconfig !== '' ? `kubeconfig ${p.kubeconfig}` : `kubeconfig ${process.env.KUBECONFIG ?? '~/.kube/config (or in-cluster)'}`
  return p.dockerHost
}
