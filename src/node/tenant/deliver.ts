// From the lease to running services: the manifest to the provider (leased → deploying), then
// its status until every service runs (deploying → running); a lease that will not run is
// recorded as failed and closed.
import { setTimeout as sleep } from 'node:timers/promises'
import { CloseCode } from '../../wire/index.ts'
import { errorMessage } from '../../util/index.ts'
import { DeployError, DeployErrorCode } from '../errors.ts'
import { isTenantFault } from '../failover.ts'
import { ManifestRefusal } from '../../net/index.ts'
import type { ManifestResult } from '../../net/index.ts'
import { DEFAULT_RUN_TIMEOUT_MS, MANIFEST_RETRY_FIRST_GAP_MS, MANIFEST_RETRY_MAX_GAP_MS, MANIFEST_UNKNOWN_LEASE_RETRY_MS } from './constants.ts'
import { providerOf } from './deployments.ts'
import { fail } from './closing.ts'
import { hintFor, watchStatus } from './provider-link.ts'
import type { TenantContext } from './context.ts'
import type { Deployment, DeployOptions, DeployProgressEvent } from './index.ts'

export type DeployEmit = (e: DeployProgressEvent) => void

/** leased → the manifest to the provider → deploying → running (or failed, and closed) */
export async function deliver (ctx: TenantContext, d: Deployment, opts: DeployOptions, emit: DeployEmit): Promise<Deployment> {
  const { deployments } = ctx
  let result
  // the provider starts billing once it has the manifest, not before this
  d.startedAt = Date.now()
  deployments.save(d)
  // a provider that never takes the manifest failed the lease (provider-failed, failover.ts)
  const manifestTimeoutMs = opts.manifestTimeoutMs ?? d.failover?.manifestTimeoutMs
  const deadline = manifestTimeoutMs != null ? AbortSignal.timeout(manifestTimeoutMs) : undefined
  const signal = opts.signal != null && deadline != null ? AbortSignal.any([opts.signal, deadline]) : opts.signal ?? deadline
  try {
    result = await sendFirstManifest(ctx, d, signal)
  } catch (err) {
    if (opts.signal?.aborted === true) throw err
    const reason = `provider ${d.provider ?? '?'} ${deadline?.aborted === true ? 'did not take the manifest in time' : 'unreachable'}: ${errorMessage(err)}${await hintFor(ctx, d)}`
    fail(ctx, d, reason, CloseCode.PROVIDER_FAILED)
    throw new DeployError(DeployErrorCode.PROVIDER_UNREACHABLE, reason)
  }
  if (!result.ok) {
    const reason = `provider refused the manifest: ${result.reason} (${result.code})`
    fail(ctx, d, reason, isTenantFault(result.code) ? undefined : CloseCode.PROVIDER_FAILED)
    throw new DeployError(DeployErrorCode.MANIFEST_REFUSED, reason)
  }
  d.state = 'deploying'
  deployments.save(d)
  emit({ type: 'deploy:manifest-accepted', detail: { provider: d.provider ?? '' } })
  return await awaitRunning(ctx, d, opts, emit)
}

/**
 * The first manifest, sent again while the provider answers `unknown-lease`: it may not have heard
 * of the lease yet (manifest spec §5). A refusal stores nothing at the provider, so a resend is a
 * new request; any other answer, or the retry period's end, is final.
 */
async function sendFirstManifest (ctx: TenantContext, d: Deployment, signal: AbortSignal | undefined): Promise<ManifestResult> {
  const until = Date.now() + MANIFEST_UNKNOWN_LEASE_RETRY_MS
  for (let gap = MANIFEST_RETRY_FIRST_GAP_MS; ; gap = Math.min(2 * gap, MANIFEST_RETRY_MAX_GAP_MS)) {
    const result = await ctx.net.sendManifest(providerOf(d), { lease: Buffer.from(d.order, 'hex'), manifest: d.manifest, sequence: 0 }, { signal })
    if (result.ok || result.code !== ManifestRefusal.UNKNOWN_LEASE || Date.now() + gap > until) return result
    ctx.logger.debug({ lease: d.order, provider: d.provider, retryInMs: gap }, 'the provider does not know the lease yet; sending the manifest again')
    // an abort ends the wait with the caller's own reason, as an abort of the send would
    await sleep(gap, undefined, { signal }).catch((err: unknown) => { throw signal?.reason ?? err })
  }
}

/** deploying → running, once every service runs (or failed, and closed) */
export async function awaitRunning (ctx: TenantContext, d: Deployment, opts: DeployOptions, emit: DeployEmit): Promise<Deployment> {
  const done = await watchStatus(ctx, d, opts, (st) => {
    if (st?.state === 'closed' || st?.error != null) {
      const reason = st.error ?? st.closeReason ?? 'the provider closed the lease'
      fail(ctx, d, reason)
      throw new DeployError(DeployErrorCode.DEPLOY_FAILED, `deployment failed at the provider: ${reason}`)
    }
    return st?.state === 'running' && st.services.length > 0 && st.services.every((x) => x.ready >= x.count) ? st.services : undefined
  })
  if (done != null) {
    d.state = 'running'
    d.services = done
    ctx.deployments.save(d)
    emit({ type: 'deploy:services-running', detail: { services: done } })
    return d
  }
  opts.signal?.throwIfAborted()
  fail(ctx, d, 'services did not start in time')
  throw new DeployError(DeployErrorCode.TIMEOUT, `services did not come up within ${Math.round((opts.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS) / 1000)} s`)
}
