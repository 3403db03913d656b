// The GPUs a provider offers: what nvidia-smi finds, when its runtime can attach them. The
// provider role calls this instead of offering nvidia-smi's list as it is.
// by their own files: the folder's index also holds the runtimes, whose clients are loaded only
// for a provider that finds GPUs to offer
import { detectNvidiaGpus } from '../runtime/nvidia-smi.ts'
import { checkDockerGpuSupport, checkKubernetesGpuSupport, gpusToOffer } from '../runtime/gpu-support.ts'
import type { GpuDevice, GpuSupport } from '../runtime/index.ts'
import type { SoukConfig } from '../config/index.ts'
import type { Logger } from './logger.ts'
import { runtimeEndpoint } from './runtime-endpoint.ts'
import { errorMessage } from '../util/index.ts'

/** asks the provider's engine or cluster whether it can attach GPUs */
export async function runtimeGpuSupport (config: Pick<SoukConfig, 'provider'>): Promise<GpuSupport> {
  if (config.provider.runtime === 'kubernetes') {
    const k8s = await import('@kubernetes/client-node')
    const kc = new k8s.KubeConfig()
    try {
      if (config.provider.kubeconfig !== '') kc.loadFromFile(config.provider.kubeconfig)
      else kc.loadFromDefault()
    } catch (err) {
      return { reason: `the kubeconfig did not load (${errorMessage(err).slice(0, 160)}); GPUs are not offered` }
    }
    return await checkKubernetesGpuSupport(kc)
  }
  const endpoint = runtimeEndpoint(config)
  const { dockerClient } = await import('../runtime/docker-client.ts')
  return await checkDockerGpuSupport(dockerClient(endpoint), endpoint)
}

/** nvidia-smi's GPUs that the runtime can attach; the reason for any left out goes to the log */
export async function gpusForProvider (config: Pick<SoukConfig, 'provider'>, logger?: Logger, opts: { detect?: () => Promise<GpuDevice[]> } = {}): Promise<GpuDevice[]> {
  const detected = await (opts.detect ?? (async () => await detectNvidiaGpus()))().catch(() => [])
  if (detected.length === 0) return []
  const offer = gpusToOffer(detected, await runtimeGpuSupport(config))
  if (offer.reason != null) logger?.warn({ check: 'gpu' }, offer.reason)
  return offer.gpus
}
