// A lease certificate as JSON (hex fields), for files a person hands around and `souk committee verify`.
import { validateLeaseCertificate } from '../wire/messages/lease-certificate.ts'
import type { LeaseCertificateBody } from '../wire/messages/lease-certificate.ts'
import { openMessage } from '../wire/envelope.ts'
import { decodeCbor } from '../wire/codec.ts'
import { MessageTag } from '../wire/constants.ts'
import { WireError } from '../wire/errors.ts'
import { CommitteeError, CommitteeErrorCode } from './errors.ts'
import { fromHex, hex } from './bytes.ts'
import { errorMessage } from '../util/index.ts'

export interface LeaseCertificateJson {
  format: 'souk-lease-certificate/1'
  order: string
  bid: string
  tenant: string
  provider: string
  epoch: number
  height: number
  batch: string
  index: number
  proof: string[]
  signatures: Array<{ validator: number, sig: string }>
}

export function leaseCertificateToJson (c: LeaseCertificateBody): LeaseCertificateJson {
  return {
    format: 'souk-lease-certificate/1',
    order: hex(c.order),
    bid: hex(c.bid),
    tenant: hex(c.tenant),
    provider: hex(c.provider),
    epoch: c.epoch,
    height: c.height,
    batch: hex(c.batch),
    index: c.index,
    proof: c.proof.map(hex),
    signatures: c.signatures.map((s) => ({ validator: s.validator, sig: hex(s.sig) }))
  }
}

const HEX = /^([0-9a-f]{2})*$/

/** a field of a parsed JSON value, undefined unless the value is an object */
const field = (v: unknown, k: string): unknown => typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined

/** Reads a certificate from JSON, a signed souk/lease-certificate envelope, or its bare CBOR body. */
export function parseLeaseCertificate (data: Uint8Array): LeaseCertificateBody {
  const text = Buffer.from(data).toString('utf8').trim()
  try {
    if (text.startsWith('{')) {
      const o = JSON.parse(text)
      if (o?.format !== 'souk-lease-certificate/1') throw new CommitteeError(CommitteeErrorCode.BAD_CERTIFICATE, 'format must be "souk-lease-certificate/1"')
      const b = (v: unknown, path: string): Uint8Array => {
        if (typeof v !== 'string' || !HEX.test(v)) throw new CommitteeError(CommitteeErrorCode.BAD_CERTIFICATE, 'must be lowercase hex', path)
        return fromHex(v)
      }
      return validateLeaseCertificate({
        order: b(o.order, 'order'),
        bid: b(o.bid, 'bid'),
        tenant: b(o.tenant, 'tenant'),
        provider: b(o.provider, 'provider'),
        epoch: o.epoch,
        height: o.height,
        batch: b(o.batch, 'batch'),
        index: o.index,
        proof: Array.isArray(o.proof) ? o.proof.map((x: unknown, i: number) => b(x, `proof[${i}]`)) : o.proof,
        signatures: Array.isArray(o.signatures) ? o.signatures.map((s: unknown, i: number) => ({ validator: field(s, 'validator'), sig: b(field(s, 'sig'), `signatures[${i}].sig`) })) : o.signatures
      }, 'certificate')
    }
    const v = decodeCbor(data, 256 * 1024, 'certificate')
    if (Array.isArray(v)) return openMessage<LeaseCertificateBody>(data, { expect: MessageTag.LEASE_CERTIFICATE, maxBytes: 256 * 1024 }).body
    return validateLeaseCertificate(v, 'certificate')
  } catch (err) {
    if (err instanceof CommitteeError) throw err
    if (err instanceof WireError) throw new CommitteeError(CommitteeErrorCode.BAD_CERTIFICATE, err.message)
    throw new CommitteeError(CommitteeErrorCode.BAD_CERTIFICATE, `not a lease certificate (${errorMessage(err).slice(0, 120)})`)
  }
}
