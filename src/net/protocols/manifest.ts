// /souk/manifest/1.0.0 — the tenant hands the deployment manifest to the winning provider.
// One request frame (the wire's manifest frame), one result frame, then both sides close.
// The provider's rules for a manifest (who may send it, which bytes, what it may ask for) are
// here and nowhere else. See protocols/manifest.md.
import type { Libp2p, PeerId, Connection } from '@libp2p/interface'
import { decodeManifestFrame, encodeManifestFrame, sha256, WireError, MAX_MANIFEST_FRAME_BYTES, MAX_REASON_LENGTH, schema } from '../../wire/index.ts'
import type { ManifestFrame } from '../../wire/index.ts'
import { EXCHANGE_TIMEOUT_MS, FRAME_VERSION, FrameTag, MAX_INBOUND_STREAMS, Protocol } from '../constants.ts'
import { NetError, NetErrorCode } from '../errors.ts'
import { frameOf } from '../frames.ts'
import { peerIsKey, refuse, sameBytes } from '../authority.ts'
import type { Decision } from '../authority.ts'
import type { NetMetrics } from '../metrics.ts'
import { ManifestRefusal } from './manifest-refusal.ts'
import { defineProtocol } from './define-protocol.ts'
import type { ProtocolComponents, ProtocolLogger, StreamProtocol } from './define-protocol.ts'

export { ManifestRefusal } from './manifest-refusal.ts'

export type ManifestResult = { ok: true } | { ok: false, code: string, reason: string }

export interface ManifestContext {
  connection: Connection
  signal: AbortSignal
}

/** The provider's decision on a manifest from `remotePeer` (the noise-authenticated peer). */
export type ManifestCallback = (remotePeer: PeerId, frame: ManifestFrame, ctx: ManifestContext) => Decision | Promise<Decision>

export interface ManifestHandlerInit {
  onManifest: ManifestCallback
  timeoutMs?: number
  maxInboundStreams?: number
  /** accept streams on relayed (limited) connections */
  runOnLimitedConnection?: boolean
  metrics?: NetMetrics
  /** where refusals and failures are logged (default: libp2p's debug logger) */
  logger?: ProtocolLogger
}

/** What the provider knows about a lease when a manifest arrives. */
export interface LeaseTerms {
  /** tenant ed25519 public key */
  tenant: Uint8Array
  /** the order's manifest hash */
  manifestHash: Uint8Array
}

/**
 * The checks every provider makes before looking at a manifest: the remote peer is the lease's
 * tenant and sha256(manifest) equals the order's manifest hash. Undefined when both pass.
 */
export function checkManifest (remotePeer: PeerId | string, frame: ManifestFrame, terms: LeaseTerms | undefined): Decision | undefined {
  if (terms == null) return refuse(ManifestRefusal.UNKNOWN_LEASE, 'no final lease with that ID here')
  if (!peerIsKey(remotePeer, terms.tenant)) return refuse(ManifestRefusal.NOT_TENANT, 'only the lease\'s tenant may send its manifest')
  if (!sameBytes(sha256(frame.manifest), terms.manifestHash)) return refuse(ManifestRefusal.HASH_MISMATCH, 'manifest hash differs from the order\'s manifest hash')
  return undefined
}

/**
 * An onManifest callback that runs checkManifest against `lookup(leaseId)` and then `onAccepted`,
 * which may still refuse (for example when the manifest does not fit).
 */
export function tenantManifestCallback (lookup: (leaseId: Uint8Array) => LeaseTerms | undefined | Promise<LeaseTerms | undefined>, onAccepted: ManifestCallback): ManifestCallback {
  return async (remotePeer, frame, ctx) => {
    const bad = checkManifest(remotePeer, frame, await lookup(frame.lease))
    if (bad != null) return bad
    return await onAccepted(remotePeer, frame, ctx)
  }
}

function resultFrame (d: Decision): Record<string, unknown> {
  return d.ok
    ? { t: FrameTag.MANIFEST_RESULT, v: FRAME_VERSION, ok: true }
    : { t: FrameTag.MANIFEST_RESULT, v: FRAME_VERSION, ok: false, code: d.code.slice(0, 64), reason: d.reason.slice(0, MAX_REASON_LENGTH) }
}

export const manifestDefinition = defineProtocol({
  name: 'manifest',
  ids: [Protocol.MANIFEST],
  maxInboundStreams: MAX_INBOUND_STREAMS,
  runOnLimitedConnection: true,
  maxFrameBytes: MAX_MANIFEST_FRAME_BYTES,
  maxFrames: 1,
  timeoutMs: EXCHANGE_TIMEOUT_MS,
  dialTimeoutMs: EXCHANGE_TIMEOUT_MS
})

/** The provider side as a service. */
export function manifestProtocol (init: ManifestHandlerInit): (components: ProtocolComponents) => StreamProtocol {
  const decide = async (bytes: Uint8Array, connection: Connection, signal: AbortSignal): Promise<Decision> => {
    let frame: ManifestFrame
    try {
      frame = decodeManifestFrame(bytes)
    } catch (err) {
      if (err instanceof WireError) return refuse(ManifestRefusal.MALFORMED, err.message)
      throw err
    }
    try {
      return await init.onManifest(connection.remotePeer, frame, { connection, signal })
    } catch {
      return refuse(ManifestRefusal.INTERNAL, 'the provider failed to handle the manifest')
    }
  }
  return (components) => manifestDefinition.serve(components, async ({ frames: fs, connection, signal }) => {
    const bytes = await fs.readBytes()
    if (bytes === undefined) throw new NetError(NetErrorCode.STREAM_ENDED, 'stream ended before the manifest frame')
    const decision = await decide(bytes, connection, signal)
    await fs.write(resultFrame(decision))
    await fs.close()
    return decision.ok ? undefined : { refused: decision.code }
  }, { maxInboundStreams: init.maxInboundStreams, runOnLimitedConnection: init.runOnLimitedConnection, timeoutMs: init.timeoutMs })
}

/** Registers the provider side. Returns a function that unregisters it. */
export async function handleManifest (libp2p: Libp2p, init: ManifestHandlerInit): Promise<() => Promise<void>> {
  const service = manifestProtocol(init)({ libp2p, metrics: init.metrics, logger: init.logger })
  await service.start()
  return service.stop
}

export interface SendManifestOptions {
  signal?: AbortSignal
  timeoutMs?: number
  runOnLimitedConnection?: boolean
}

/** Tenant side: sends the manifest frame and returns the provider's typed answer. */
export async function sendManifest (libp2p: Libp2p, provider: PeerId, frame: ManifestFrame, opts: SendManifestOptions = {}): Promise<ManifestResult> {
  const bytes = encodeManifestFrame(frame)
  // the answer is small; the manifest may be up to the frame limit
  const { frames: fs } = await manifestDefinition.dial(libp2p, provider, { signal: opts.signal, timeoutMs: opts.timeoutMs, runOnLimitedConnection: opts.runOnLimitedConnection, maxFrameBytes: 4096, maxWriteBytes: MAX_MANIFEST_FRAME_BYTES, maxFrames: 1 })
  try {
    await fs.writeBytes(bytes)
    await fs.close()
    const o = frameOf(await fs.readRequired('manifest result'), FrameTag.MANIFEST_RESULT, ['ok'], ['code', 'reason'])
    if (o.ok === true) return { ok: true }
    if (o.ok !== false) throw new NetError(NetErrorCode.MALFORMED_FRAME, 'frame.ok must be a boolean')
    return {
      ok: false,
      code: schema.str(o.code ?? ManifestRefusal.REFUSED, 'frame.code', 64),
      reason: schema.str(o.reason ?? '', 'frame.reason', MAX_REASON_LENGTH)
    }
  } catch (err) {
    fs.abort(err instanceof Error ? err : new Error(String(err)))
    if (err instanceof WireError) throw new NetError(NetErrorCode.MALFORMED_FRAME, err.message)
    throw err
  }
}

