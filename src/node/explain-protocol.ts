// `/souk/explain/1.0.0`: a tenant whose order got no lease asks providers why they did not bid.
// One request frame { t, v, order }, one answer frame { t, v, decision? }. A provider answers only
// the order's tenant (the peer noise authenticated), so nobody else learns its reasons.
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { FrameStream, frameOf, NetError, NetErrorCode } from '../net/index.ts'
import type { SoukNode } from '../net/index.ts'
import { schema, HASH_BYTES, toHex, WireError } from '../wire/index.ts'
import type { Decision } from '../market/index.ts'

export const EXPLAIN_PROTOCOL = '/souk/explain/1.0.0'
const REQUEST = 'souk/explain-request'
const ANSWER = 'souk/explain-answer'
const MAX_FRAME = 16 * 1024

export interface ExplainAnswer {
  provider: string
  decision?: { outcome: string, reasons: Array<{ code: string, message: string }> }
}

function typed<T> (f: () => T): T {
  try {
    return f()
  } catch (err: any) {
    if (err instanceof WireError) throw new NetError(NetErrorCode.MALFORMED_FRAME, err.message)
    throw err
  }
}

/** The request frame: the order's ID (32 bytes), or a NetError. */
export function decodeExplainRequest (v: unknown): Uint8Array {
  const o = frameOf(v, REQUEST, ['order'])
  return typed(() => schema.bytes(o.order, 'frame.order', HASH_BYTES))
}

/** The answer frame, or a NetError. */
export function decodeExplainAnswer (v: unknown): Omit<ExplainAnswer, 'provider'> {
  const o = frameOf(v, ANSWER, [], ['decision'])
  return typed(() => {
    if (o.decision == null) return {}
    const d = schema.map(o.decision, 'frame.decision', ['outcome', 'reasons'])
    return {
      decision: {
        outcome: schema.str(d.outcome, 'frame.decision.outcome', 16),
        reasons: schema.arr(d.reasons, 'frame.decision.reasons', 32, (r, p) => {
          const x = schema.map(r, p, ['code', 'message'])
          return { code: schema.str(x.code, `${p}.code`, 64), message: schema.str(x.message, `${p}.message`, 512) }
        })
      }
    }
  })
}

export async function handleExplain (net: SoukNode, lookup: (orderId: string, remote: PeerId) => Promise<Decision | undefined>): Promise<() => Promise<void>> {
  await net.libp2p.handle(EXPLAIN_PROTOCOL, (stream: Stream, connection: Connection) => {
    void (async () => {
      const fs = new FrameStream(stream, { maxFrameBytes: MAX_FRAME, maxFrames: 1, signal: AbortSignal.timeout(10_000) })
      try {
        const order = toHex(decodeExplainRequest(await fs.readRequired('request')))
        const d = await lookup(order, connection.remotePeer)
        const answer: Record<string, unknown> = { t: ANSWER, v: 1 }
        if (d != null) answer.decision = { outcome: d.outcome, reasons: d.reasons.map((r) => ({ code: r.code, message: r.message })) }
        await fs.write(answer)
        await fs.close()
      } catch (err: any) {
        fs.abort(err)
      }
    })()
  }, { maxInboundStreams: 32 })
  return async () => { await net.libp2p.unhandle(EXPLAIN_PROTOCOL) }
}

export async function askExplain (net: SoukNode, provider: PeerId, orderId: Uint8Array, signal?: AbortSignal): Promise<ExplainAnswer> {
  const s = AbortSignal.any([AbortSignal.timeout(5_000), ...(signal != null ? [signal] : [])])
  const stream = await net.libp2p.dialProtocol(provider, EXPLAIN_PROTOCOL, { signal: s })
  const fs = new FrameStream(stream, { maxFrameBytes: MAX_FRAME, maxFrames: 1, signal: s })
  try {
    await fs.write({ t: REQUEST, v: 1, order: orderId })
    const out: ExplainAnswer = { provider: provider.toString(), ...decodeExplainAnswer(await fs.readRequired('answer')) }
    await fs.close()
    return out
  } catch (err) {
    fs.abort(err as Error)
    throw err
  }
}
