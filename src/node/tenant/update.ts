// update(): a new manifest (same resources or fewer) rolled out on a running lease; a rollout
// that fails leaves the previous manifest running.
import { signMessage, MessageTag, sha256 } from '../../wire/index.ts'
import type { ManifestUpdateBody } from '../../wire/index.ts'
import { loadSdl, canonicalManifestBytes, formatTotals } from '../../sdl/index.ts'
import type { LoadedSdl } from '../../sdl/index.ts'
import { DeployError, DeployErrorCode } from '../errors.ts'
import { providerOf } from './deployments.ts'
import { unreachable, watchStatus } from './provider-link.ts'
import type { ProviderStatus } from './provider-link.ts'
import type { TenantContext } from './context.ts'
import type { Deployment, UpdateOptions, UpdateProgressEvent } from './index.ts'

export async function update (ctx: TenantContext, order: string, sdl: string | LoadedSdl, opts: UpdateOptions = {}): Promise<Deployment> {
  const { deployments } = ctx
  const d = deployments.find(order)
  if (d.state !== 'running') throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `lease ${d.order.slice(0, 12)} is ${d.state}; only a running lease can be updated`)
  const emit = (e: UpdateProgressEvent): void => { try { opts.onProgress?.(e) } catch {} }
  const loaded = typeof sdl === 'string' ? loadSdl(sdl) : sdl
  const manifest = canonicalManifestBytes(loaded.manifest)
  const sequence = (d.sequence ?? 0) + 1
  emit({ type: 'update:validated', detail: { order: d.order, sequence, totals: formatTotals(loaded.totals) } })
  opts.signal?.throwIfAborted()
  const lease = Buffer.from(d.order, 'hex')
  const signed = signMessage<ManifestUpdateBody>(ctx.identity, MessageTag.MANIFEST_UPDATE, { lease, manifestHash: sha256(manifest), sequence })
  let result
  try {
    result = await ctx.net.sendManifest(providerOf(d), { lease, manifest, sequence, update: signed.bytes }, { signal: opts.signal })
  } catch (err) {
    throw await unreachable(ctx, d, err)
  }
  deployments.heard(d)
  if (!result.ok) throw new DeployError(DeployErrorCode.MANIFEST_REFUSED, `provider refused the update: ${result.reason} (${result.code})`)
  emit({ type: 'update:manifest-accepted', detail: { order: d.order, sequence, provider: d.provider ?? '' } })
  const st = await watchStatus(ctx, d, opts, (x): ProviderStatus | undefined => {
    if (x?.state === 'closed') throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `the provider closed the lease: ${x.closeReason ?? ''}`)
    if (x?.lastUpdate?.sequence === sequence && x.lastUpdate.error != null) {
      throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `the update failed and the previous manifest keeps running: ${x.lastUpdate.error}`)
    }
    return x?.sequence === sequence && x.state === 'running' ? x : undefined
  })
  if (st == null) throw new DeployError(DeployErrorCode.TIMEOUT, 'the update did not roll out in time; the previous manifest keeps running')
  d.sequence = sequence
  d.manifest = manifest
  d.services = st.services
  deployments.save(d)
  emit({ type: 'update:rolled-out', detail: { order: d.order, sequence, services: d.services } })
  return d
}
