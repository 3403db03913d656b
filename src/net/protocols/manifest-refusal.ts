// Refusal codes of /souk/manifest/1.0.0 (protocols/manifest.md): the provider's answer says which rule a manifest broke.
/** refusal codes of the manifest protocol */
export const ManifestRefusal = {
  NOT_TENANT: 'not-tenant',
  HASH_MISMATCH: 'hash-mismatch',
  UNKNOWN_LEASE: 'unknown-lease',
  MALFORMED: 'malformed',
  /** the manifest breaks a rule of §4.2: shape, unknown field, quantity, limit */
  INVALID_MANIFEST: 'invalid-manifest',
  /** a service asks for more than the order's resource unit of the same name */
  EXCEEDS_ORDER: 'exceeds-order',
  OUT_OF_SEQUENCE: 'out-of-sequence',
  LEASE_CLOSED: 'lease-closed',
  DEPLOY_FAILED: 'deploy-failed',
  REFUSED: 'refused',
  INTERNAL: 'internal'
} as const
export type ManifestRefusal = typeof ManifestRefusal[keyof typeof ManifestRefusal]
