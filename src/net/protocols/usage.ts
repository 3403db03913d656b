// `/souk/usage/1.0.0`: the provider pushes a signed usage statement to the lease's tenant; the
// tenant's node checks it and answers with its countersignature, or with the reason it refuses.
// One statement frame, one answer frame per stream.
import type { Libp2p, PeerId } from '@libp2p/interface'
import { openMessage, MessageTag, MAX_ENVELOPE_BYTES, schema } from '../../wire/index.ts'
import type { SignedMessage, UsageStatementBody, UsageAckBody } from '../../wire/index.ts'
import { errorCode, errorMessage } from '../../util/index.ts'
import { checkFrame, frameOf } from '../frames.ts'
import { defineProtocol } from './define-protocol.ts'
import type { ProtocolComponents, StreamProtocol } from './define-protocol.ts'

export const USAGE_PROTOCOL = '/souk/usage/1.0.0'
const STATEMENT = 'souk/usage-statement'
const ANSWER = 'souk/usage-answer'
const MAX_FRAME = MAX_ENVELOPE_BYTES + 1024
const TIMEOUT_MS = 10_000

export type UsageAnswer = { ok: true, ack: SignedMessage<UsageAckBody> } | { ok: false, code: string, reason: string }

/** The tenant's check: countersigns, or throws an error with a code and a message. */
export type UsageCheck = (from: PeerId, s: SignedMessage<UsageStatementBody>) => SignedMessage<UsageAckBody>

export const usageDefinition = defineProtocol({
  name: 'usage',
  ids: [USAGE_PROTOCOL],
  maxInboundStreams: 32,
  runOnLimitedConnection: false,
  maxFrameBytes: MAX_FRAME,
  maxFrames: 1,
  timeoutMs: TIMEOUT_MS,
  dialTimeoutMs: TIMEOUT_MS
})

/** The statement frame: the statement envelope's bytes (opened separately), or a NetError. */
export function decodeUsageStatementFrame (v: unknown): Uint8Array {
  const o = frameOf(v, STATEMENT, ['statement'])
  return checkFrame(() => schema.bytes(o.statement, 'frame.statement', { min: 1, max: MAX_ENVELOPE_BYTES }))
}

/** The answer frame (an ack's envelope bytes, or the refusal), or a NetError. */
export function decodeUsageAnswerFrame (v: unknown): { ok: true, ack: Uint8Array } | { ok: false, code: string, reason: string } {
  const o = frameOf(v, ANSWER, ['ok'], ['ack', 'code', 'reason'])
  return checkFrame(() => {
    if (schema.bool(o.ok, 'frame.ok')) return { ok: true, ack: schema.bytes(o.ack, 'frame.ack', { min: 1, max: MAX_ENVELOPE_BYTES }) }
    return { ok: false, code: schema.str(o.code, 'frame.code', 64), reason: schema.str(o.reason, 'frame.reason', 512) }
  })
}

/** The tenant side as a service. */
export function usageProtocol (check: UsageCheck): (components: ProtocolComponents) => StreamProtocol {
  return (components) => usageDefinition.serve(components, async ({ frames: fs, remotePeer }) => {
    const bytes = decodeUsageStatementFrame(await fs.readRequired('statement'))
    let answer: Record<string, unknown>
    let refused: string | undefined
    try {
      const s = openMessage<UsageStatementBody>(bytes, { expect: MessageTag.USAGE_STATEMENT })
      const ack = check(remotePeer, s)
      answer = { t: ANSWER, v: 1, ok: true, ack: ack.bytes }
    } catch (err) {
      // the refusal says why: the rule's code and the numbers, for the provider's operator
      refused = (errorCode(err) ?? 'ERR_USAGE_REFUSED').slice(0, 64)
      answer = { t: ANSWER, v: 1, ok: false, code: refused, reason: errorMessage(err).slice(0, 500) }
    }
    await fs.write(answer)
    await fs.close()
    return refused == null ? undefined : { refused }
  })
}

/** Tenant side: `check` countersigns or throws an error with a code and a message. Returns a function that unregisters it. */
export async function handleUsage (net: ProtocolComponents, check: UsageCheck): Promise<() => Promise<void>> {
  const service = usageProtocol(check)({ libp2p: net.libp2p, metrics: net.metrics, logger: net.logger })
  await service.start()
  return service.stop
}

/** Provider side: sends one statement and returns the tenant's answer. */
export async function sendUsage (net: { libp2p: Libp2p }, tenant: PeerId, statement: SignedMessage<UsageStatementBody>): Promise<UsageAnswer> {
  const { frames: fs } = await usageDefinition.dial(net.libp2p, tenant, { maxFrames: 1 })
  try {
    await fs.write({ t: STATEMENT, v: 1, statement: statement.bytes })
    const a = decodeUsageAnswerFrame(await fs.readRequired('answer'))
    await fs.close()
    if (a.ok) return { ok: true, ack: openMessage<UsageAckBody>(a.ack, { expect: MessageTag.USAGE_ACK }) }
    return a
  } catch (err) {
    fs.abort(err instanceof Error ? err : new Error(errorMessage(err)))
    throw err
  }
}
