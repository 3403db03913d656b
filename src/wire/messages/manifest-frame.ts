// The manifest travels only on a direct stream, after the lease is final. The stream is
// authenticated by noise, so the frame is not signed; the provider checks that sha256(manifest)
// equals the order's manifest hash and that the remote peer is the lease's tenant.
import { encodeCbor, decodeCbor } from '../codec.ts'
import { map, field, str, uint, bytes } from '../schema.ts'
import { HASH_BYTES, MAX_ENVELOPE_BYTES, MAX_MANIFEST_BYTES, MAX_MANIFEST_FRAME_BYTES, MessageTag, WIRE_VERSION } from '../constants.ts'
import { WireError, WireErrorCode } from '../errors.ts'
import { errorMessage } from '../../util/index.ts'

export interface ManifestFrame {
  /** the lease's order ID */
  lease: Uint8Array
  /** the canonical manifest bytes (canonical JSON, see docs/sdl.md) */
  manifest: Uint8Array
  /** 0 for the lease's first manifest; updates count up */
  sequence: number
  /** for sequence > 0: the tenant's signed `souk/manifest-update` envelope naming this manifest's hash */
  update?: Uint8Array
}

export function encodeManifestFrame (f: ManifestFrame): Uint8Array {
  if (f.manifest.length > MAX_MANIFEST_BYTES) throw new WireError(WireErrorCode.TOO_LARGE, `manifest is ${f.manifest.length} bytes; the limit is ${MAX_MANIFEST_BYTES}`)
  const frame: Record<string, unknown> = { t: MessageTag.MANIFEST_FRAME, v: WIRE_VERSION, lease: f.lease, manifest: f.manifest, sequence: f.sequence }
  if (f.update != null) frame.update = f.update
  return encodeCbor(frame)
}

export function decodeManifestFrame (data: Uint8Array): ManifestFrame {
  try {
    const o = map(decodeCbor(data, MAX_MANIFEST_FRAME_BYTES, 'manifest frame'), 'frame', ['t', 'v', 'lease', 'manifest', 'sequence'], ['update'])
    const t = str(o.t, 'frame.t', 64)
    if (t !== MessageTag.MANIFEST_FRAME) throw new WireError(WireErrorCode.WRONG_TYPE, `expected ${MessageTag.MANIFEST_FRAME}, got ${t}`)
    if (o.v !== WIRE_VERSION) throw new WireError(WireErrorCode.UNSUPPORTED_VERSION, `manifest frame version ${String(o.v)} is not supported`)
    const frame: ManifestFrame = {
      lease: bytes(o.lease, field('frame', 'lease'), HASH_BYTES),
      manifest: bytes(o.manifest, field('frame', 'manifest'), { min: 2, max: MAX_MANIFEST_BYTES }),
      sequence: uint(o.sequence, field('frame', 'sequence'), 1_000_000)
    }
    if (o.update !== undefined) frame.update = bytes(o.update, field('frame', 'update'), { min: 1, max: MAX_ENVELOPE_BYTES })
    if (frame.sequence > 0 && frame.update == null) throw new WireError(WireErrorCode.SCHEMA, 'is required when sequence > 0 (the tenant\'s signed manifest update)', 'frame.update')
    return frame
  } catch (err) {
    if (err instanceof WireError) throw err
    throw new WireError(WireErrorCode.MALFORMED, `undecodable manifest frame (${errorMessage(err).slice(0, 120)})`)
  }
}
