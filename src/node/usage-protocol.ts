// `/souk/usage/1.0.0`: the provider pushes a signed usage statement to the lease's tenant; the
// tenant's node checks it and answers with its countersignature, or with the reason it refuses.
// One statement frame, one answer frame per stream.
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { checkFrame, FrameStream, frameOf } from '../net/index.ts'
import type { SoukNode } from '../net/index.ts'
import { openMessage, MessageTag, MAX_ENVELOPE_BYTES, schema } from '../wire/index.ts'
import type { SignedMessage, UsageStatementBody, UsageAckBody } from '../wire/index.ts'

export const USAGE_PROTOCOL = '/souk/usage/1.0.0'
const STATEMENT = 'souk/usage-statement'
const ANSWER = 'souk/usage-answer'
const MAX_FRAME = MAX_ENVELOPE_BYTES + 1024

export type UsageAnswer = { ok: true, ack: SignedMessage<UsageAckBody> } | { ok: false, code: string, reason: string }

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

/** Tenant side: `check` countersigns or throws an error with a code and a message. */
export async function handleUsage (net: SoukNode, check: (from: PeerId, s: SignedMessage<UsageStatementBody>) => SignedMessage<UsageAckBody>): Promise<() => Promise<void>> {
  await net.libp2p.handle(USAGE_PROTOCOL, (stream: Stream, connection: Connection) => {
    void (async () => {
      const fs = new FrameStream(stream, { maxFrameBytes: MAX_FRAME, maxFrames: 1, signal: AbortSignal.timeout(10_000) })
      try {
        const bytes = decodeUsageStatementFrame(await fs.readRequired('statement'))
        let answer: Record<string, unknown>
        try {
          const s = openMessage<UsageStatementBody>(bytes, { expect: MessageTag.USAGE_STATEMENT })
          const ack = check(connection.remotePeer, s)
          answer = { t: ANSWER, v: 1, ok: true, ack: ack.bytes }
        } catch (err: any) {
          // the refusal says why: the rule's code and the numbers, for the provider's operator
          answer = { t: ANSWER, v: 1, ok: false, code: String(err?.code ?? 'ERR_USAGE_REFUSED').slice(0, 64), reason: String(err?.message ?? err).slice(0, 500) }
        }
        await fs.write(answer)
        await fs.close()
      } catch (err: any) {
        fs.abort(err)
      }
    })()
  }, { maxInboundStreams: 32 })
  return async () => { await net.libp2p.unhandle(USAGE_PROTOCOL) }
}

/** Provider side: sends one statement and returns the tenant's answer. */
export async function sendUsage (net: SoukNode, tenant: PeerId, statement: SignedMessage<UsageStatementBody>): Promise<UsageAnswer> {
  const signal = AbortSignal.timeout(10_000)
  const stream = await net.libp2p.dialProtocol(tenant, USAGE_PROTOCOL, { signal })
  const fs = new FrameStream(stream, { maxFrameBytes: MAX_FRAME, maxFrames: 1, signal })
  try {
    await fs.write({ t: STATEMENT, v: 1, statement: statement.bytes })
    const a = decodeUsageAnswerFrame(await fs.readRequired('answer'))
    await fs.close()
    if (a.ok) return { ok: true, ack: openMessage<UsageAckBody>(a.ack, { expect: MessageTag.USAGE_ACK }) }
    return a
  } catch (err) {
    fs.abort(err as Error)
    throw err
  }
}
