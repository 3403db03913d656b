import { map, field, uint, bytes, arr, strMap, price } from '../schema.ts'
import type { Price } from '../schema.ts'
import { schemaError } from '../errors.ts'
import type { MessageHead } from '../envelope.ts'
import { HASH_BYTES, MAX_BID_LIFETIME_MS, MAX_ATTRIBUTES, MAX_ATTRIBUTE_KEY_LENGTH, MAX_ATTRIBUTE_VALUE_LENGTH, MAX_AUDITORS, MAX_GROUPS, MessageTag } from '../constants.ts'

/** An auditor's signature over a provider's attributes (see protocols/wire.md). */
export interface AuditorAttestation {
  /** the auditor's ed25519 public key */
  auditor: Uint8Array
  sig: Uint8Array
}

/** A provider's offer for a whole order. The provider is the envelope's signer. */
export interface BidBody {
  /** the order's message ID */
  order: Uint8Array
  /** one price per order group, in the order's group order */
  prices: Price[]
  attributes: Record<string, string>
  auditors: AuditorAttestation[]
  /** the bid is withdrawn after this time (ms since the Unix epoch) */
  expiresAt: number
}

function attestation (v: unknown, path: string): AuditorAttestation {
  const o = map(v, path, ['auditor', 'sig'])
  return { auditor: bytes(o.auditor, field(path, 'auditor'), 32), sig: bytes(o.sig, field(path, 'sig'), 64) }
}

/** With `head`, expiresAt is also bounded: at most MAX_BID_LIFETIME_MS after the bid was made. */
export function validateBid (v: unknown, path: string, head?: MessageHead): BidBody {
  const o = map(v, path, ['order', 'prices', 'attributes', 'auditors', 'expiresAt'])
  const body = {
    order: bytes(o.order, field(path, 'order'), HASH_BYTES),
    prices: arr(o.prices, field(path, 'prices'), MAX_GROUPS, price, 1),
    attributes: strMap(o.attributes, field(path, 'attributes'), MAX_ATTRIBUTES, MAX_ATTRIBUTE_KEY_LENGTH, MAX_ATTRIBUTE_VALUE_LENGTH),
    auditors: arr(o.auditors, field(path, 'auditors'), MAX_AUDITORS, attestation),
    expiresAt: uint(o.expiresAt, field(path, 'expiresAt'))
  }
  if (head != null && body.expiresAt > head.createdAt + MAX_BID_LIFETIME_MS) {
    throw schemaError(field(path, 'expiresAt'), `must be at most ${MAX_BID_LIFETIME_MS} ms after the bid's createdAt (it is ${body.expiresAt - head.createdAt} ms after)`)
  }
  return body
}

export const BID_TAG = MessageTag.BID
