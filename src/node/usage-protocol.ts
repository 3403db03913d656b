// `/souk/usage/1.0.0`: the provider pushes a signed usage statement to the lease's tenant; the
// tenant's node checks it and answers with its countersignature, or with the reason it refuses.
// One statement frame, one answer frame per stream.
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { FrameStream, frameOf } from '../net/index.ts'
import type { SoukNode } from '../net/index.ts'
import { openMessage, MessageTag, MAX_ENVELOPE_BYTES, schema } from '../wire/index.ts'
import type { SignedMessage, UsageStatementBody, UsageAckBody } from '../wire/index.ts'

export const USAGE_PROTOCOL = '/souk/usage/1.0.0'
const STATEMENT = 'souk/usage-statement'
const ANSWER = 'souk/usage-answer'
const MAX_FRAME = MAX_ENVELOPE_BYTES + 1024

export type UsageAnswer = { ok: true, ack: SignedMessage<UsageAckBody> } | { ok: false, code: string, reason: string }

/** Tenant side: `check` countersigns or throws an error with a code and a message. */
export async function handleUsage (net: SoukNode, check: (from: PeerId, s: SignedMessage<UsageStatementBody>) => SignedMessage<UsageAckBody>): Promise<() => Promise<void>> {
  await net.libp2p.handle(USAGE_PROTOCOL, (stream: Stream, connection: Connection) => {
    void (async () => {
      const fs = new FrameStream(stream, { maxFrameBytes: MAX_FRAME, maxFrames: 1, signal: AbortSignal.timeout(10_000) })
      try {
        const o = frameOf(await fs.readRequired('statement'), STATEMENT, ['statement'])
        const bytes = schema.bytes(o.statement, 'frame.statement', { min: 1, max: MAX_ENVELOPE_BYTES })
        let answer: Record<string, unknown>
        try {
          const s = openMessage<UsageStatementBody>(bytes, { expect: MessageTag.USAGE_STATEMENT })
          const ack = check(connection.remotePeer, s)
          answer = { t: ANSWER, v: 1, ok: true, ack: ack.bytes }
        } catch (err: any) {
          answer = { t: ANSWER, v: 1, ok: false, code: String(err?.code ?? 'ERR_USAGE_REFUSED'), reason: String(err?.message ?? err).slice(0, 500) }
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
    const o = frameOf(await fs.readRequired('answer'), ANSWER, ['ok'], ['ack', 'code', 'reason'])
    await fs.close()
    if (o.ok === true) {
      const ack = openMessage<UsageAckBody>(schema.bytes(o.ack, 'frame.ack', { min: 1, max: MAX_ENVELOPE_BYTES }), { expect: MessageTag.USAGE_ACK })
      return { ok: true, ack }
    }
    return { ok: false, code: schema.str(o.code, 'frame.code', 64), reason: schema.str(o.reason, 'frame.reason', 512) }
  } catch (err) {
    fs.abort(err as Error)
    throw err
  }
}
