// The record protocol, `/souk/record/1.0.0`: any node asks a validator for a provider's record
// (protocols/committee.md §6.2) as of its last final batch. One request frame, one answer frame.
// A validator answers from its ledger; which answers a node believes (f + 1 validators giving the
// same figures) is the node's business (protocols/record.md).
import type { Libp2p, PeerId } from '@libp2p/interface'
import { schema, HASH_BYTES, toHex } from '../../wire/index.ts'
import { errorMessage } from '../../util/index.ts'
import { checkFrame, frameOf } from '../frames.ts'
import { defineProtocol } from './define-protocol.ts'
import type { ProtocolComponents, StreamProtocol } from './define-protocol.ts'

export const RECORD_PROTOCOL = '/souk/record/1.0.0'
const REQUEST = 'souk/record-request'
const ANSWER = 'souk/record-answer'
const MAX_FRAME = 1024
/** the figures of a provider's record, in the order the answer frame names them */
export const RECORD_FIGURES = ['won', 'served', 'lost', 'failed', 'uncounted'] as const

/** a provider's record as the committee's ledger counts it (committee's ProviderRecord) */
export type RecordFigures = Record<typeof RECORD_FIGURES[number], number>

export interface RecordAnswer { height: number, record: RecordFigures }

/** a validator's ledger: the record of a provider (its key, hex) */
export type RecordLookup = (providerHex: string) => RecordAnswer

export const recordDefinition = defineProtocol({
  name: 'record',
  ids: [RECORD_PROTOCOL],
  maxInboundStreams: 32,
  runOnLimitedConnection: false,
  maxFrameBytes: MAX_FRAME,
  maxFrames: 1,
  timeoutMs: 10_000,
  dialTimeoutMs: 5_000
})

export function decodeRecordRequest (v: unknown): { provider: Uint8Array } {
  const o = frameOf(v, REQUEST, ['provider'])
  return checkFrame(() => ({ provider: schema.bytes(o.provider, 'frame.provider', HASH_BYTES) }))
}

export function decodeRecordAnswer (v: unknown): RecordAnswer {
  const o = frameOf(v, ANSWER, ['height', ...RECORD_FIGURES])
  return checkFrame(() => {
    const record: RecordFigures = { won: 0, served: 0, lost: 0, failed: 0, uncounted: 0 }
    for (const f of RECORD_FIGURES) record[f] = schema.uint(o[f], `frame.${f}`)
    return { height: schema.uint(o.height, 'frame.height'), record }
  })
}

/** The validator side as a service: answers from `lookup`. */
export function recordProtocol (lookup: RecordLookup): (components: ProtocolComponents) => StreamProtocol {
  return (components) => recordDefinition.serve(components, async ({ frames: fs }) => {
    const req = decodeRecordRequest(await fs.readRequired('request'))
    const a = lookup(toHex(req.provider))
    await fs.write({ t: ANSWER, v: 1, height: a.height, ...a.record })
    await fs.close()
    return undefined
  })
}

/** serves records from this validator's ledger; returns a function that unregisters it */
export async function handleRecord (net: ProtocolComponents, lookup: RecordLookup): Promise<() => Promise<void>> {
  const service = recordProtocol(lookup)({ libp2p: net.libp2p, metrics: net.metrics, logger: net.logger })
  await service.start()
  return service.stop
}

export async function askRecord (net: { libp2p: Libp2p }, validator: PeerId, provider: Uint8Array, signal?: AbortSignal): Promise<RecordAnswer> {
  const { frames: fs } = await recordDefinition.dial(net.libp2p, validator, { signal, maxFrames: 1 })
  try {
    await fs.write({ t: REQUEST, v: 1, provider })
    const out = decodeRecordAnswer(await fs.readRequired('answer'))
    await fs.close()
    return out
  } catch (err) {
    fs.abort(err instanceof Error ? err : new Error(errorMessage(err)))
    throw err
  }
}
