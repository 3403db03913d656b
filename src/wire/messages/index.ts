import { registerMessageType } from '../envelope.ts'
import { MessageTag } from '../constants.ts'
import { validateOrder } from './order.ts'
import { validateBid } from './bid.ts'
import { validateClose } from './close.ts'
import { validateLeaseCertificate } from './lease-certificate.ts'
import { validateUsageStatement, validateUsageAck } from './usage.ts'
import { validateManifestUpdate } from './manifest-update.ts'
import { validateOrderExpired } from './order-expired.ts'
import { validateCommitteeChain } from './committee-chain.ts'

registerMessageType(MessageTag.ORDER, validateOrder)
registerMessageType(MessageTag.BID, validateBid)
registerMessageType(MessageTag.CLOSE, validateClose)
registerMessageType(MessageTag.LEASE_CERTIFICATE, validateLeaseCertificate)
registerMessageType(MessageTag.USAGE_STATEMENT, validateUsageStatement)
registerMessageType(MessageTag.USAGE_ACK, validateUsageAck)
registerMessageType(MessageTag.MANIFEST_UPDATE, validateManifestUpdate)
registerMessageType(MessageTag.ORDER_EXPIRED, validateOrderExpired)
registerMessageType(MessageTag.COMMITTEE_CHAIN, validateCommitteeChain)

export { validateOrder, validateBid, validateClose, validateLeaseCertificate, validateUsageStatement, validateUsageAck }
export type { UsageStatementBody, UsageAckBody } from './usage.ts'
export { validateManifestUpdate, validateOrderExpired }
export type { OrderExpiredBody } from './order-expired.ts'
export { validateCommitteeChain }
export type { CommitteeChainBody } from './committee-chain.ts'
export type { ManifestUpdateBody } from './manifest-update.ts'
export type { OrderBody, WireAccept, WireGroup, WireResources, WireStorage, WireGpuModel } from './order.ts'
export type { BidBody, AuditorAttestation } from './bid.ts'
export type { CloseBody } from './close.ts'
export type { LeaseCertificateBody, CommitteeSignature } from './lease-certificate.ts'
export { encodeManifestFrame, decodeManifestFrame } from './manifest-frame.ts'
export type { ManifestFrame } from './manifest-frame.ts'
