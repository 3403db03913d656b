import type { SoukConfig } from '../config/index.ts'

/** where the provider's runtime is: the Docker endpoint (DOCKER_HOST wins over souk.yaml) or the kubeconfig */
export function runtimeEndpoint (config: SoukConfig): string {
  const p = config.provider
  if (p.runtime === 'kubernetes') return p.kubeconfig !== '' ? `kubeconfig ${p.kubeconfig}` : `kubeconfig ${process.env.KUBECONFIG ?? '~/.kube/config (or in-cluster)'}`
  const fromEnv = process.env.DOCKER_HOST
  return fromEnv != null && fromEnv !== '' ? fromEnv : p.dockerHost
}
