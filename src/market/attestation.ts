// Auditor attestations. An auditor vouches for a provider's attributes by signing them, bound to
// the provider's key, so a tenant whose order says `signedBy: { allOf: [auditor] }` only deals
// with providers the auditor checked. The signed bytes are the UTF-8 of the RFC 8785 canonical
// JSON of
//   { "attributes": { …the provider's attributes… }, "provider": "<provider key, lowercase hex>",
//     "type": "souk/provider-attestation", "version": 1 }
// signed with pure Ed25519 (RFC 8032) under the auditor's key. The type and version keep the
// signature from ever counting as any other souk message, whose payloads are CBOR arrays.
import { canonicalJson } from '../sdl/canonical.ts'
import { isAcceptablePublicKey, peerIdOfPublicKey, verify } from '../identity/index.ts'
import { toHex } from '../wire/index.ts'
import type { AuditorAttestation, Signer } from '../wire/index.ts'
import { ATTESTATION_TYPE, ATTESTATION_VERSION } from './constants.ts'
import { MarketError, MarketErrorCode } from './errors.ts'

/** The exact bytes an auditor signs for `provider` holding `attributes`. */
export function attestationBytes (provider: Uint8Array, attributes: Record<string, string>): Uint8Array {
  if (!(provider instanceof Uint8Array) || provider.length !== 32) throw new MarketError(MarketErrorCode.BAD_ATTESTATION, 'provider key must be 32 bytes')
  const attrs: Record<string, string> = {}
  for (const [k, v] of Object.entries(attributes)) {
    if (typeof v !== 'string') throw new MarketError(MarketErrorCode.BAD_ATTESTATION, 'attribute values must be strings', `attributes.${k}`)
    attrs[k] = v
  }
  return new TextEncoder().encode(canonicalJson({
    attributes: attrs,
    provider: toHex(provider),
    type: ATTESTATION_TYPE,
    version: ATTESTATION_VERSION
  }))
}

/** An auditor signs a provider's attributes. */
export function signAttestation (auditor: Signer, provider: Uint8Array, attributes: Record<string, string>): AuditorAttestation {
  return { auditor: auditor.publicKey, sig: auditor.sign(attestationBytes(provider, attributes)) }
}

/** True when `att` is the auditor's valid signature over exactly these attributes of this provider. */
export function verifyAttestation (att: AuditorAttestation, provider: Uint8Array, attributes: Record<string, string>): boolean {
  if (!(att.auditor instanceof Uint8Array) || att.auditor.length !== 32) return false
  if (!(att.sig instanceof Uint8Array) || att.sig.length !== 64) return false
  if (!isAcceptablePublicKey(att.auditor)) return false
  try {
    return verify(att.sig, attestationBytes(provider, attributes), att.auditor)
  } catch {
    return false
  }
}

/**
 * How an order names an auditor in `signedBy`: its peer ID (`12D3KooW…`) or its public key in
 * lowercase hex. Both forms of one key name the same auditor.
 */
export function auditorNames (auditor: Uint8Array): string[] {
  return [peerIdOfPublicKey(auditor), toHex(auditor)]
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/

/** An order's `signedBy` entry in the form `auditorNames` gives (hex keys lowercased). */
export function auditorName (entry: string): string {
  return HEX_KEY.test(entry) ? entry.toLowerCase() : entry
}
