// The explain protocols. `/souk/explain/1.0.0`: a tenant whose order got no lease asks providers
// why they did not bid. `/souk/explain/2.0.0` adds the dry run: the tenant sends a signed order it
// has not published and the provider answers what it would do (its prices, or every reason not
// to), reserving and publishing nothing. One request frame, one answer frame. A provider answers
// only the order's tenant (the peer noise authenticated), so nobody else learns its reasons.
import type { Libp2p, PeerId } from '@libp2p/interface'
import { schema, HASH_BYTES, MAX_ENVELOPE_BYTES, toHex } from '../../wire/index.ts'
import type { Price } from '../../wire/index.ts'
import { errorMessage } from '../../util/index.ts'
import { checkFrame, frameOf } from '../frames.ts'
import { NetError, NetErrorCode } from '../errors.ts'
import { MetricName } from '../metrics.ts'
import { TokenBuckets } from '../rate-limit.ts'
import type { RateLimit } from '../rate-limit.ts'
import { defineProtocol } from './define-protocol.ts'
import type { ProtocolComponents, StreamProtocol } from './define-protocol.ts'

export const EXPLAIN_PROTOCOL = '/souk/explain/1.0.0'
export const EXPLAIN_PROTOCOL_V2 = '/souk/explain/2.0.0'
const REQUEST = 'souk/explain-request'
const ANSWER = 'souk/explain-answer'
const MAX_FRAME = 16 * 1024
/** a v2 request may carry a whole order envelope */
const MAX_FRAME_V2 = MAX_ENVELOPE_BYTES + 1024
export const MAX_EXPLAIN_REASONS = 32
/**
 * Dry runs one peer may ask for. Each runs the provider's bid engine on an order anyone can sign
 * (its capacity check and its pricing, a script perhaps); a tenant asks once per provider per
 * `souk deploy --dry-run`.
 */
export const DRY_RUN_PEER_LIMIT = { perSecond: 0.5, burst: 5 } as const
/** Dry runs over all peers (a stranger can take a new peer ID per connection). */
export const DRY_RUN_TOTAL_LIMIT = { perSecond: 5, burst: 20 } as const
/** Dry runs evaluated at once over all peers, so they cannot fill the pricing script's queue ahead of real orders. */
export const MAX_DRY_RUNS_IN_FLIGHT = 4

/** What a provider decided about an order, as much of it as the answer carries (the market's Decision fits). */
export interface ExplainDecision {
  outcome: string
  reasons: ReadonlyArray<{ code: string, message: string }>
  prices?: readonly Price[]
}

export const explainDefinition = defineProtocol({
  name: 'explain',
  ids: [EXPLAIN_PROTOCOL, EXPLAIN_PROTOCOL_V2],
  maxInboundStreams: 32,
  runOnLimitedConnection: false,
  maxFrameBytes: (id) => id === EXPLAIN_PROTOCOL_V2 ? MAX_FRAME_V2 : MAX_FRAME,
  maxFrames: 1,
  timeoutMs: 10_000,
  dialTimeoutMs: 5_000
})

export interface ExplainAnswer {
  provider: string
  decision?: { outcome: string, reasons: Array<{ code: string, message: string }>, prices?: Array<{ denom: string, amount: string }> }
}

export interface ExplainRequest {
  /** the order's ID */
  order: Uint8Array
  /** v2: the signed, unpublished order envelope to evaluate */
  dryRun?: Uint8Array
}

/** The request frame, or a NetError. Version 1 frames carry the order ID only. */
export function decodeExplainRequest (v: unknown, version: 1 | 2 = 1): ExplainRequest {
  const o = frameOf(v, REQUEST, ['order'], version === 2 ? ['dryRun'] : [])
  return checkFrame(() => {
    const order = schema.bytes(o.order, 'frame.order', HASH_BYTES)
    if (o.dryRun == null) return { order }
    return { order, dryRun: schema.bytes(o.dryRun, 'frame.dryRun', { min: 1, max: MAX_ENVELOPE_BYTES }) }
  })
}

/** The answer frame, or a NetError. */
export function decodeExplainAnswer (v: unknown): Omit<ExplainAnswer, 'provider'> {
  const o = frameOf(v, ANSWER, [], ['decision'])
  return checkFrame(() => {
    if (o.decision == null) return {}
    const d = schema.map(o.decision, 'frame.decision', ['outcome', 'reasons'], ['prices'])
    const decision: NonNullable<ExplainAnswer['decision']> = {
      outcome: schema.str(d.outcome, 'frame.decision.outcome', 16),
      reasons: schema.arr(d.reasons, 'frame.decision.reasons', MAX_EXPLAIN_REASONS, (r, p) => {
        const x = schema.map(r, p, ['code', 'message'])
        return { code: schema.str(x.code, `${p}.code`, 64), message: schema.str(x.message, `${p}.message`, 512) }
      })
    }
    if (d.prices != null) {
      decision.prices = schema.arr(d.prices, 'frame.decision.prices', 64, (x, p) => {
        const m = schema.map(x, p, ['denom', 'amount'])
        return { denom: schema.str(m.denom, `${p}.denom`, 128, 1), amount: schema.str(m.amount, `${p}.amount`, 64, 1) }
      })
    }
    return { decision }
  })
}

export interface ExplainHandlers {
  /** what was decided about an order this node saw, for its tenant only */
  lookup: (orderId: string, remote: PeerId) => Promise<ExplainDecision | undefined>
  /** v2: what this node would decide about an unpublished order; the envelope is checked by the callee */
  dryRun?: (envelope: Uint8Array, remote: PeerId, signal: AbortSignal) => Promise<ExplainDecision | undefined>
}

function answerFrame (d: ExplainDecision | undefined): Record<string, unknown> {
  const answer: Record<string, unknown> = { t: ANSWER, v: 1 }
  if (d == null) return answer
  // a message over the frame's limit would make the answer undecodable: cut, never drop the reason
  const decision: Record<string, unknown> = { outcome: d.outcome, reasons: d.reasons.slice(0, MAX_EXPLAIN_REASONS).map((r) => ({ code: r.code.slice(0, 64), message: r.message.slice(0, 512) })) }
  if (d.prices != null) decision.prices = d.prices.map((p) => ({ denom: p.denom, amount: p.amount }))
  answer.decision = decision
  return answer
}

export interface ExplainLimits {
  /** dry runs per peer (DRY_RUN_PEER_LIMIT) */
  peer?: RateLimit
  /** dry runs over all peers (DRY_RUN_TOTAL_LIMIT) */
  total?: RateLimit
  /** dry runs evaluated at once (MAX_DRY_RUNS_IN_FLIGHT) */
  inFlight?: number
}

/** The provider side as a service. */
export function explainProtocol (handlers: ExplainHandlers | ExplainHandlers['lookup'], limits: ExplainLimits = {}): (components: ProtocolComponents) => StreamProtocol {
  const h: ExplainHandlers = typeof handlers === 'function' ? { lookup: handlers } : handlers
  const perPeer = new TokenBuckets({ ...(limits.peer ?? DRY_RUN_PEER_LIMIT), maxKeys: 4096 })
  const total = new TokenBuckets({ ...(limits.total ?? DRY_RUN_TOTAL_LIMIT), maxKeys: 1 })
  const maxInFlight = limits.inFlight ?? MAX_DRY_RUNS_IN_FLIGHT
  let inFlight = 0
  return (components) => {
    const bounds = components.metrics?.counter(MetricName.BOUND_HIT, 'times a bound on what strangers may add refused something, by bound')
    // a refused dry run is reset unanswered, as the time and sync protocols do: the bid engine never sees it
    const admitDryRun = (peer: string): void => {
      const now = Date.now()
      const refuse = (bound: string, why: string): never => {
        bounds?.inc({ bound })
        throw new NetError(NetErrorCode.REFUSED, why)
      }
      if (inFlight >= maxInFlight) refuse('dry-runs-in-flight', `${inFlight} dry runs are being evaluated (limit ${maxInFlight})`)
      if (!perPeer.take(peer, now)) refuse('dry-runs-per-peer', 'too many dry runs from this peer')
      if (!total.take('all', now)) refuse('dry-runs', 'too many dry runs')
    }
    return explainDefinition.serve(components, async ({ id, frames: fs, remotePeer, signal }) => {
      const req = decodeExplainRequest(await fs.readRequired('request'), id === EXPLAIN_PROTOCOL_V2 ? 2 : 1)
      let d: ExplainDecision | undefined
      if (req.dryRun == null) {
        d = await h.lookup(toHex(req.order), remotePeer)
      } else if (h.dryRun != null) {
        admitDryRun(remotePeer.toString())
        inFlight++
        try {
          d = await h.dryRun(req.dryRun, remotePeer, signal)
        } finally {
          inFlight--
        }
      }
      await fs.write(answerFrame(d))
      await fs.close()
      return undefined
    })
  }
}

/** Registers the provider side (both versions). Returns a function that unregisters it. */
export async function handleExplain (net: ProtocolComponents, handlers: ExplainHandlers | ExplainHandlers['lookup'], limits: ExplainLimits = {}): Promise<() => Promise<void>> {
  const service = explainProtocol(handlers, limits)({ libp2p: net.libp2p, metrics: net.metrics, logger: net.logger })
  await service.start()
  return service.stop
}

export async function askExplain (net: { libp2p: Libp2p }, provider: PeerId, orderId: Uint8Array, signal?: AbortSignal, opts: { dryRun?: Uint8Array } = {}): Promise<ExplainAnswer> {
  const v2 = opts.dryRun != null
  const { frames: fs } = await explainDefinition.dial(net.libp2p, provider, { id: v2 ? EXPLAIN_PROTOCOL_V2 : EXPLAIN_PROTOCOL, signal, timeoutMs: v2 ? 10_000 : 5_000, maxFrames: 1 })
  try {
    await fs.write({ t: REQUEST, v: 1, order: orderId, ...(v2 ? { dryRun: opts.dryRun } : {}) })
    const out: ExplainAnswer = { provider: provider.toString(), ...decodeExplainAnswer(await fs.readRequired('answer')) }
    await fs.close()
    return out
  } catch (err) {
    fs.abort(err instanceof Error ? err : new Error(errorMessage(err)))
    throw err
  }
}
