import { registerMessageType } from '../envelope.ts'
import { MessageTag } from '../constants.ts'
import { validateOrder } from './order.ts'
import { validateBid } from './bid.ts'
import { validateClose } from './close.ts'
import { validateLeaseCertificate } from './lease-certificate.ts'

registerMessageType(MessageTag.ORDER, validateOrder)
registerMessageType(MessageTag.BID, validateBid)
registerMessageType(MessageTag.CLOSE, validateClose)
registerMessageType(MessageTag.LEASE_CERTIFICATE, validateLeaseCertificate)

export { validateOrder, validateBid, validateClose, validateLeaseCertificate }
export type { OrderBody, WireGroup, WireResources, WireStorage, WireGpuModel } from './order.ts'
export type { BidBody, AuditorAttestation } from './bid.ts'
export type { CloseBody } from './close.ts'
export type { LeaseCertificateBody, CommitteeSignature } from './lease-certificate.ts'
export { encodeManifestFrame, decodeManifestFrame } from './manifest-frame.ts'
export type { ManifestFrame } from './manifest-frame.ts'
