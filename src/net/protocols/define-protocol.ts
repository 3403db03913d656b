// One way to serve and dial a stream protocol. Every souk stream protocol states its ids, its
// inbound stream limits, its frame limits, its exchange deadline and, when it has them, a per-peer
// rate limit and an authority check; this file applies them alike, logs failures under the
// protocol's name and counts every inbound exchange by outcome, so an operator reads all
// protocols the same way. A protocol's own file keeps only its frames and what it does with them.
import type { LevelLogger } from '../../util/index.ts'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { errorCode, errorMessage, errorName, logThrottle } from '../../util/index.ts'
import { NetError, NetErrorCode } from '../errors.ts'
import { dialProtocolFresh } from '../dial-fresh.ts'
import { FrameStream, withTimeout } from '../frames.ts'
import { MetricName } from '../metrics.ts'
import type { Counter, NetMetrics } from '../metrics.ts'
import { TokenBuckets } from '../rate-limit.ts'
import type { RateLimit } from '../rate-limit.ts'
import type { Decision } from '../authority.ts'
import { ExchangeOutcome, RATE_LIMIT_KEYS, WARN_INTERVAL_MS, WARN_KEYS, WARN_PER_INTERVAL } from './constants.ts'

/** What a protocol logs through: pino's (fields, message) call shape, so the node's logger fits. */
/** the levels a protocol logs at: the node's logger, or any other with pino's shape */
export type ProtocolLogger = Pick<LevelLogger, 'warn' | 'debug'>

/** What a protocol service needs from the node. */
export interface ProtocolComponents {
  libp2p: Libp2p
  metrics?: NetMetrics
  /** defaults to libp2p's own debug logger under `souk:protocol:<name>` */
  logger?: ProtocolLogger
}

export interface ProtocolRateLimit extends RateLimit {
  /** the bound's name in `souk_bound_hits_total` */
  bound: string
}

export interface ProtocolSpec {
  /** short name for logs and metrics: `lease`, `sync`, … */
  name: string
  /** protocol ids served, one per version; a dialler picks one (the first by default) */
  ids: readonly string[]
  /** inbound streams per connection and protocol id */
  maxInboundStreams: number
  /** accept streams on relayed (limited) connections */
  runOnLimitedConnection: boolean
  /** largest frame read; a function when versions differ */
  maxFrameBytes: number | ((id: string) => number)
  /** largest frame the handler writes, when it differs from the read limit */
  maxWriteBytes?: number
  /** frames the handler reads at most */
  maxFrames?: number
  /** whole-exchange deadline of an inbound stream, ms; none when absent (the handler sets its own) */
  timeoutMs?: number
  /** deadline of a dialled exchange unless the caller gives one, ms; none when absent */
  dialTimeoutMs?: number
  /** inbound exchanges one peer may start; beyond it the stream is reset unanswered */
  rateLimit?: ProtocolRateLimit
  /** who may open a stream at all; a refusal resets the stream unanswered */
  authorize?: (remotePeer: PeerId, connection: Connection) => Decision
}

/** One inbound exchange as a handler sees it. */
export interface Exchange {
  /** the protocol id the remote chose */
  id: string
  stream: Stream
  connection: Connection
  /** the peer noise authenticated */
  remotePeer: PeerId
  /** the stream's frames with the spec's limits, ended by `signal` (a handler may replace it) */
  frames: FrameStream
  /** fires at the exchange deadline or when the service stops */
  signal: AbortSignal
  /** fires when the service stops */
  stopped: AbortSignal
  log: ProtocolLogger
}

/** How an exchange the handler completed ended: served, or answered with a refusal and its code. */
export type ExchangeResult = undefined | { refused: string }

export type ExchangeHandler = (exchange: Exchange) => Promise<ExchangeResult>

/** A protocol served by this node: `start` registers its handlers, `stop` unregisters them. */
export interface StreamProtocol {
  readonly name: string
  readonly ids: readonly string[]
  start: () => Promise<void>
  stop: () => Promise<void>
  isStarted: () => boolean
}

export interface DialOptions {
  signal?: AbortSignal
  /** the exchange deadline, ms; `false` for none (a followed stream) */
  timeoutMs?: number | false
  /** which of the protocol's ids to dial */
  id?: string
  runOnLimitedConnection?: boolean
  /** largest frame read, when the answer is smaller than what the protocol allows */
  maxFrameBytes?: number
  maxWriteBytes?: number
  maxFrames?: number
}

/** a peer, or addresses of one (each ending in its /p2p/ id) */
export type DialTarget = Parameters<Libp2p['dialProtocol']>[0]

export interface DialedExchange {
  frames: FrameStream
  /** the exchange's signal: the deadline and the caller's */
  signal: AbortSignal
}

/** What one node may set differently from the protocol's defaults when it serves it. */
export type ServeOptions = Partial<Pick<ProtocolSpec, 'maxInboundStreams' | 'runOnLimitedConnection' | 'timeoutMs' | 'rateLimit'>>

export interface ProtocolDefinition {
  readonly spec: ProtocolSpec
  /** the service that serves this protocol with `handler` */
  serve: (components: ProtocolComponents, handler: ExchangeHandler, options?: ServeOptions) => StreamProtocol
  /** opens a stream to `peer` with the spec's limits */
  dial: (libp2p: Libp2p, peer: DialTarget, opts?: DialOptions) => Promise<DialedExchange>
}

/** Failures that say the remote misbehaved (or a limit held): logged at warn. */
const PEER_FAULTS: ReadonlySet<string> = new Set([
  NetErrorCode.FRAME_TOO_LARGE, NetErrorCode.TOO_MANY_FRAMES, NetErrorCode.MALFORMED_FRAME,
  NetErrorCode.REFUSED, NetErrorCode.NOT_AUTHORIZED
])

function libp2pLogger (libp2p: Libp2p, name: string): ProtocolLogger {
  const log = libp2p.logger.forComponent(`souk:protocol:${name}`)
  return {
    warn: (fields, message) => { log.error('%s %o', message, fields) },
    debug: (fields, message) => { log('%s %o', message, fields) }
  }
}

function asError (err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err))
}

export function defineProtocol (spec: ProtocolSpec): ProtocolDefinition {
  if (spec.ids.length === 0) throw new NetError(NetErrorCode.CONFIG, `protocol ${spec.name} has no id`)
  const frameLimit = (id: string): number => typeof spec.maxFrameBytes === 'function' ? spec.maxFrameBytes(id) : spec.maxFrameBytes

  const serve = (components: ProtocolComponents, handler: ExchangeHandler, options: ServeOptions = {}): StreamProtocol => {
    const { libp2p } = components
    const limits = {
      maxInboundStreams: options.maxInboundStreams ?? spec.maxInboundStreams,
      runOnLimitedConnection: options.runOnLimitedConnection ?? spec.runOnLimitedConnection,
      timeoutMs: options.timeoutMs ?? spec.timeoutMs,
      rateLimit: options.rateLimit ?? spec.rateLimit
    }
    const log = components.logger ?? libp2pLogger(libp2p, spec.name)
    // a peer repeating a bad exchange is counted every time but logged a few times a minute
    const throttle = logThrottle({ intervalMs: WARN_INTERVAL_MS, maxKeys: WARN_KEYS, maxPerInterval: WARN_PER_INTERVAL })
    const warn = (fields: Record<string, unknown>, message: string): void => {
      const suppressed = throttle.admit(`${String(fields.protocol)} ${String(fields.peer)} ${String(fields.code)}`)
      if (suppressed == null) return
      log.warn(suppressed > 0 ? { ...fields, suppressed } : fields, suppressed > 0 ? `${message} (${suppressed} more not logged)` : message)
    }
    const exchanges: Counter | undefined = components.metrics?.counter(MetricName.STREAM_EXCHANGES, 'inbound stream exchanges by protocol, outcome and refusal code')
    const bounds = components.metrics?.counter(MetricName.BOUND_HIT, 'times a bound on what strangers may add refused something, by bound')
    const rateLimit = limits.rateLimit
    const buckets = rateLimit != null ? new TokenBuckets({ perSecond: rateLimit.perSecond, burst: rateLimit.burst, maxKeys: RATE_LIMIT_KEYS }) : undefined
    let stop = new AbortController()
    let started = false

    const count = (id: string, outcome: ExchangeOutcome, code = ''): void => {
      exchanges?.inc({ protocol: id, outcome, code })
    }

    const run = async (id: string, stream: Stream, connection: Connection): Promise<void> => {
      const remotePeer = connection.remotePeer
      const stopped = stop.signal
      const signal = limits.timeoutMs != null ? withTimeout(limits.timeoutMs, stopped) : stopped
      const frames = new FrameStream(stream, { maxFrameBytes: frameLimit(id), maxWriteBytes: spec.maxWriteBytes, maxFrames: spec.maxFrames, signal })
      const fields = { protocol: id, peer: remotePeer.toString() }
      try {
        if (buckets != null && rateLimit != null && !buckets.take(remotePeer.toString(), Date.now())) {
          bounds?.inc({ bound: rateLimit.bound })
          throw new NetError(NetErrorCode.REFUSED, `too many ${spec.name} requests from this peer`)
        }
        const decision = spec.authorize?.(remotePeer, connection)
        if (decision != null && !decision.ok) throw new NetError(NetErrorCode.NOT_AUTHORIZED, `${decision.code}: ${decision.reason}`)
        const result = await handler({ id, stream, connection, remotePeer, frames, signal, stopped, log })
        if (result?.refused != null) {
          count(id, ExchangeOutcome.REFUSED, result.refused)
          log.debug({ ...fields, code: result.refused }, `${spec.name}: refused`)
        } else {
          count(id, ExchangeOutcome.SERVED)
        }
      } catch (err) {
        const code = errorCode(err) ?? ''
        if (code === NetErrorCode.TIMEOUT || errorName(err) === 'TimeoutError' || frames.timedOut()) {
          count(id, ExchangeOutcome.TIMED_OUT)
          log.debug({ ...fields, err: errorMessage(err) }, `${spec.name}: timed out`)
        } else if (code === NetErrorCode.REFUSED || code === NetErrorCode.NOT_AUTHORIZED) {
          count(id, ExchangeOutcome.REFUSED, code)
          warn({ ...fields, code, err: errorMessage(err) }, `${spec.name}: refused`)
        } else {
          count(id, ExchangeOutcome.FAILED, code)
          if (PEER_FAULTS.has(code)) warn({ ...fields, code, err: errorMessage(err) }, `${spec.name}: bad exchange from peer`)
          else log.debug({ ...fields, code, err: errorMessage(err) }, `${spec.name}: exchange failed`)
        }
        frames.abort(asError(err))
      }
    }

    return {
      name: spec.name,
      ids: spec.ids,
      isStarted: () => started,
      async start () {
        if (started) return
        stop = new AbortController()
        for (const id of spec.ids) {
          await libp2p.handle(id, async (stream, connection) => { await run(id, stream, connection) }, {
            maxInboundStreams: limits.maxInboundStreams,
            runOnLimitedConnection: limits.runOnLimitedConnection
          })
        }
        started = true
      },
      async stop () {
        if (!started) return
        started = false
        stop.abort(new NetError(NetErrorCode.ABORTED, `${spec.name} stopped`))
        await libp2p.unhandle([...spec.ids])
      }
    }
  }

  const dial = async (libp2p: Libp2p, peer: DialTarget, opts: DialOptions = {}): Promise<DialedExchange> => {
    const id = opts.id ?? spec.ids[0]
    if (!spec.ids.includes(id)) throw new NetError(NetErrorCode.CONFIG, `${id} is not a version of ${spec.name}`)
    const timeoutMs = opts.timeoutMs === false ? undefined : opts.timeoutMs ?? spec.dialTimeoutMs
    const signals: AbortSignal[] = []
    if (timeoutMs != null) signals.push(AbortSignal.timeout(timeoutMs))
    if (opts.signal != null) signals.push(opts.signal)
    const signal = signals.length === 1 ? signals[0] : AbortSignal.any(signals)
    const stream = await dialProtocolFresh(libp2p, peer, id, { signal, runOnLimitedConnection: opts.runOnLimitedConnection ?? spec.runOnLimitedConnection })
    const frames = new FrameStream(stream, {
      maxFrameBytes: opts.maxFrameBytes ?? frameLimit(id),
      maxWriteBytes: opts.maxWriteBytes ?? spec.maxWriteBytes,
      maxFrames: opts.maxFrames,
      signal
    })
    return { frames, signal }
  }

  return { spec, serve, dial }
}
