// /souk/lease/1.0.0 — a lease's tenant asks its provider for status, logs, events, or to close.
// One request frame, then response frames until an `end` or `error` frame. See protocols/lease.md.
import type { Libp2p, PeerId, Connection } from '@libp2p/interface'
import { openMessage, WireError, MessageTag, HASH_BYTES, MAX_ENVELOPE_BYTES, MAX_REASON_LENGTH, schema } from '../../wire/index.ts'
import type { CloseBody, SignedMessage } from '../../wire/index.ts'
import {
  EXCHANGE_TIMEOUT_MS, FOLLOW_IDLE_TIMEOUT_MS, FRAME_VERSION, FrameTag, MAX_INBOUND_STREAMS, MAX_LEASE_FRAMES,
  MAX_LEASE_FRAME_BYTES, MAX_LOG_LINE_CHARS, Protocol, REQUEST_TIMEOUT_MS
} from '../constants.ts'
import { NetError, NetErrorCode } from '../errors.ts'
import { frameOf } from '../frames.ts'
import type { FrameStream } from '../frames.ts'
import { peerIsKey, refuse, sameBytes } from '../authority.ts'
import type { Decision } from '../authority.ts'
import type { NetMetrics } from '../metrics.ts'
import { defineProtocol } from './define-protocol.ts'
import type { Exchange, ExchangeResult, ProtocolComponents, ProtocolLogger, StreamProtocol } from './define-protocol.ts'

export const LeaseRequestType = { STATUS: 'status', LOGS: 'logs', EVENTS: 'events', CLOSE: 'close' } as const
export type LeaseRequestType = typeof LeaseRequestType[keyof typeof LeaseRequestType]

export const LeaseErrorCode = {
  NOT_AUTHORIZED: 'not-authorized',
  UNKNOWN_LEASE: 'unknown-lease',
  MALFORMED: 'malformed',
  UNSUPPORTED: 'unsupported',
  INTERNAL: 'internal'
} as const

export interface LeaseRequest {
  type: LeaseRequestType
  /** the lease's order ID */
  lease: Uint8Array
  /** logs, events: keep the stream open and send new entries as they come */
  follow?: boolean
  /** logs: lines per replica from the end */
  tail?: number
  /** logs: one service only */
  service?: string
  /** close: the signed Close envelope */
  close?: Uint8Array
}

export interface LeaseLogLine { service: string, replica: string, stream: 'stdout' | 'stderr', line: string }
export interface LeaseEvent { type: string, time: number, service?: string, replica?: string, message?: string }

export type LeaseResponse =
  | { kind: 'status', status: unknown }
  | { kind: 'log', log: LeaseLogLine }
  | { kind: 'event', event: LeaseEvent }
  | { kind: 'closed' }
  | { kind: 'end' }
  | { kind: 'error', code: string, reason: string }

export interface LeaseRequestContext {
  connection: Connection
  signal: AbortSignal
  /** for close requests: the verified Close message */
  close?: SignedMessage<CloseBody>
}

/** What the provider application supplies. `authorize` runs before anything else. */
export interface LeaseService {
  /** may `remotePeer` (noise-authenticated) make this request? Usually: is it the lease's tenant */
  authorize: (remotePeer: PeerId, request: LeaseRequest, ctx: LeaseRequestContext) => Decision | Promise<Decision>
  /** a CBOR-encodable status object (services, replicas, URLs) */
  status?: (lease: Uint8Array, ctx: LeaseRequestContext) => unknown
  logs?: (lease: Uint8Array, opts: { follow: boolean, tail?: number, service?: string, signal: AbortSignal }) => AsyncIterable<LeaseLogLine>
  events?: (lease: Uint8Array, opts: { follow: boolean, signal: AbortSignal }) => AsyncIterable<LeaseEvent>
  close?: (lease: Uint8Array, close: SignedMessage<CloseBody>, ctx: LeaseRequestContext) => void | Promise<void>
}

export interface LeaseHandlerInit {
  service: LeaseService
  /** one-shot requests (status, close, non-follow logs/events) must finish within this */
  timeoutMs?: number
  /** followed streams end after this long without a frame */
  followIdleMs?: number
  maxInboundStreams?: number
  runOnLimitedConnection?: boolean
  metrics?: NetMetrics
  /** where refusals and failures are logged (default: libp2p's debug logger) */
  logger?: ProtocolLogger
}

function requestFrame (r: LeaseRequest): Record<string, unknown> {
  const f: Record<string, unknown> = { t: FrameTag.LEASE_REQUEST, v: FRAME_VERSION, type: r.type, lease: r.lease }
  if (r.follow != null) f.follow = r.follow
  if (r.tail != null) f.tail = r.tail
  if (r.service != null) f.service = r.service
  if (r.close != null) f.close = r.close
  return f
}

export function decodeLeaseRequest (v: unknown): LeaseRequest {
  const o = frameOf(v, FrameTag.LEASE_REQUEST, ['type', 'lease'], ['follow', 'tail', 'service', 'close'])
  try {
    const type = schema.str(o.type, 'frame.type', 16) as LeaseRequestType
    if (!Object.values(LeaseRequestType).includes(type)) throw new NetError(NetErrorCode.MALFORMED_FRAME, `frame.type: unknown request type ${type}`)
    const r: LeaseRequest = { type, lease: schema.bytes(o.lease, 'frame.lease', HASH_BYTES) }
    if (o.follow !== undefined) r.follow = schema.bool(o.follow, 'frame.follow')
    if (o.tail !== undefined) r.tail = schema.uint(o.tail, 'frame.tail', 100_000)
    if (o.service !== undefined) r.service = schema.str(o.service, 'frame.service', 64, 1)
    if (o.close !== undefined) r.close = schema.bytes(o.close, 'frame.close', { min: 1, max: MAX_ENVELOPE_BYTES })
    if (type === LeaseRequestType.CLOSE && r.close == null) throw new NetError(NetErrorCode.MALFORMED_FRAME, 'frame.close: is required for a close request')
    return r
  } catch (err) {
    if (err instanceof WireError) throw new NetError(NetErrorCode.MALFORMED_FRAME, err.message)
    throw err
  }
}

const resp = (kind: string, rest: Record<string, unknown> = {}): Record<string, unknown> => ({ t: FrameTag.LEASE_RESPONSE, v: FRAME_VERSION, kind, ...rest })

function logFrame (l: LeaseLogLine): Record<string, unknown> {
  return resp('log', { log: { service: l.service, replica: l.replica, stream: l.stream, line: l.line.length > MAX_LOG_LINE_CHARS ? l.line.slice(0, MAX_LOG_LINE_CHARS) : l.line } })
}

function eventFrame (e: LeaseEvent): Record<string, unknown> {
  const ev: Record<string, unknown> = { type: e.type.slice(0, 64), time: e.time }
  if (e.service != null) ev.service = e.service
  if (e.replica != null) ev.replica = e.replica
  if (e.message != null) ev.message = e.message.slice(0, MAX_REASON_LENGTH)
  return resp('event', { event: ev })
}

export const leaseDefinition = defineProtocol({
  name: 'lease',
  ids: [Protocol.LEASE],
  maxInboundStreams: MAX_INBOUND_STREAMS,
  runOnLimitedConnection: true,
  maxFrameBytes: MAX_LEASE_FRAME_BYTES,
  maxFrames: 1,
  // the request must come quickly; what follows gets the limit of its kind
  timeoutMs: REQUEST_TIMEOUT_MS
})

/** The provider side as a service. */
export function leaseProtocol (init: LeaseHandlerInit): (components: ProtocolComponents) => StreamProtocol {
  const svc = init.service

  const handler = async ({ frames: fs, stream, connection, stopped }: Exchange): Promise<ExchangeResult> => {
    const request = decodeLeaseRequest(await fs.readRequired('lease request'))
    fs.expectNoMore()
    const follow = request.follow === true && (request.type === LeaseRequestType.LOGS || request.type === LeaseRequestType.EVENTS)
    // the response phase gets the limit of its kind: a deadline, or an idle timer when following
    const idle = new AbortController()
    // a reader that goes away (stream reset or closed) releases whatever feeds the stream
    const gone = new AbortController()
    stream.addEventListener('close', () => { gone.abort(new NetError(NetErrorCode.ABORTED, 'the requester went away')) }, { once: true })
    const signal = follow
      ? AbortSignal.any([idle.signal, gone.signal, stopped])
      : AbortSignal.any([AbortSignal.timeout(init.timeoutMs ?? EXCHANGE_TIMEOUT_MS), gone.signal, stopped])
    fs.setSignal(signal)
    const ctx: LeaseRequestContext = { connection, signal }
    if (request.type === LeaseRequestType.CLOSE) {
      try {
        ctx.close = openMessage<CloseBody>(request.close!, { expect: MessageTag.CLOSE })
      } catch (err) {
        if (!(err instanceof WireError)) throw err
        await fs.write(resp('error', { code: LeaseErrorCode.MALFORMED, reason: err.message }))
        await fs.close()
        return { refused: LeaseErrorCode.MALFORMED }
      }
      if (!sameBytes(ctx.close.body.lease, request.lease)) {
        await fs.write(resp('error', { code: LeaseErrorCode.MALFORMED, reason: 'the Close message is for another lease' }))
        await fs.close()
        return { refused: LeaseErrorCode.MALFORMED }
      }
      // the Close must be the requester's own: authorize() then checks that the requester is the
      // lease's tenant, so a Close signed by anyone else (however valid) closes nothing
      if (!peerIsKey(connection.remotePeer, ctx.close.signer)) {
        await fs.write(resp('error', { code: LeaseErrorCode.NOT_AUTHORIZED, reason: 'the Close message is not signed by the requesting peer' }))
        await fs.close()
        return { refused: LeaseErrorCode.NOT_AUTHORIZED }
      }
    }
    let decision: Decision
    try {
      decision = await svc.authorize(connection.remotePeer, request, ctx)
    } catch {
      decision = refuse(LeaseErrorCode.INTERNAL, 'authorization failed')
    }
    if (!decision.ok) {
      await fs.write(resp('error', { code: decision.code.slice(0, 64), reason: decision.reason.slice(0, MAX_REASON_LENGTH) }))
      await fs.close()
      return { refused: decision.code }
    }
    const result = await serve(request, fs, ctx, follow, idle)
    await fs.close()
    return result === 'ok' ? undefined : { refused: result }
  }

  const serve = async (request: LeaseRequest, fs: FrameStream, ctx: LeaseRequestContext, follow: boolean, idle: AbortController): Promise<string> => {
    const unsupported = async (): Promise<string> => {
      await fs.write(resp('error', { code: LeaseErrorCode.UNSUPPORTED, reason: `this provider does not serve ${request.type}` }))
      return LeaseErrorCode.UNSUPPORTED
    }
    const idleMs = init.followIdleMs ?? FOLLOW_IDLE_TIMEOUT_MS
    let timer: NodeJS.Timeout | undefined
    const touch = (): void => {
      if (!follow) return
      clearTimeout(timer)
      timer = setTimeout(() => { idle.abort(new DOMException('idle', 'TimeoutError')) }, idleMs)
    }
    try {
      touch()
      switch (request.type) {
        case LeaseRequestType.STATUS: {
          if (svc.status == null) return await unsupported()
          await fs.write(resp('status', { status: await svc.status(request.lease, ctx) }))
          break
        }
        case LeaseRequestType.LOGS: {
          if (svc.logs == null) return await unsupported()
          let n = 0
          for await (const line of svc.logs(request.lease, { follow, tail: request.tail, service: request.service, signal: ctx.signal })) {
            if (++n > MAX_LEASE_FRAMES) break
            await fs.write(logFrame(line))
            touch()
          }
          break
        }
        case LeaseRequestType.EVENTS: {
          if (svc.events == null) return await unsupported()
          let n = 0
          for await (const ev of svc.events(request.lease, { follow, signal: ctx.signal })) {
            if (++n > MAX_LEASE_FRAMES) break
            await fs.write(eventFrame(ev))
            touch()
          }
          break
        }
        case LeaseRequestType.CLOSE: {
          if (svc.close == null) return await unsupported()
          await svc.close(request.lease, ctx.close!, ctx)
          await fs.write(resp('closed'))
          break
        }
      }
      await fs.write(resp('end'))
      return 'ok'
    } finally {
      clearTimeout(timer)
    }
  }

  return (components) => leaseDefinition.serve(components, handler, { maxInboundStreams: init.maxInboundStreams, runOnLimitedConnection: init.runOnLimitedConnection })
}

/** Registers the provider side. Returns a function that unregisters it. */
export async function handleLease (libp2p: Libp2p, init: LeaseHandlerInit): Promise<() => Promise<void>> {
  const service = leaseProtocol(init)({ libp2p, metrics: init.metrics, logger: init.logger })
  await service.start()
  return service.stop
}

/** A decoded lease response frame, or a NetError (MALFORMED_FRAME). */
export function decodeLeaseResponse (v: unknown): LeaseResponse {
  const o = frameOf(v, FrameTag.LEASE_RESPONSE, ['kind'], ['status', 'log', 'event', 'code', 'reason'])
  try {
    const kind = schema.str(o.kind, 'frame.kind', 16)
    switch (kind) {
      case 'status': return { kind, status: o.status }
      case 'log': {
        const l = schema.map(o.log, 'frame.log', ['service', 'replica', 'stream', 'line'])
        const stream = schema.str(l.stream, 'frame.log.stream', 6)
        if (stream !== 'stdout' && stream !== 'stderr') throw new NetError(NetErrorCode.MALFORMED_FRAME, 'frame.log.stream: must be stdout or stderr')
        return {
          kind,
          log: {
            service: schema.str(l.service, 'frame.log.service', 64),
            replica: schema.str(l.replica, 'frame.log.replica', 256),
            stream,
            line: schema.str(l.line, 'frame.log.line', MAX_LOG_LINE_CHARS)
          }
        }
      }
      case 'event': {
        const e = schema.map(o.event, 'frame.event', ['type', 'time'], ['service', 'replica', 'message'])
        const ev: LeaseEvent = { type: schema.str(e.type, 'frame.event.type', 64, 1), time: schema.uint(e.time, 'frame.event.time') }
        if (e.service !== undefined) ev.service = schema.str(e.service, 'frame.event.service', 64)
        if (e.replica !== undefined) ev.replica = schema.str(e.replica, 'frame.event.replica', 256)
        if (e.message !== undefined) ev.message = schema.str(e.message, 'frame.event.message', MAX_REASON_LENGTH)
        return { kind, event: ev }
      }
      case 'closed': return { kind }
      case 'end': return { kind }
      case 'error': return { kind, code: schema.str(o.code, 'frame.code', 64), reason: schema.str(o.reason ?? '', 'frame.reason', MAX_REASON_LENGTH) }
      default: throw new NetError(NetErrorCode.MALFORMED_FRAME, `frame.kind: unknown response kind ${kind}`)
    }
  } catch (err) {
    if (err instanceof WireError) throw new NetError(NetErrorCode.MALFORMED_FRAME, err.message)
    throw err
  }
}

export interface LeaseRequestOptions {
  signal?: AbortSignal
  /** whole-exchange limit; followed streams have none unless given */
  timeoutMs?: number
  runOnLimitedConnection?: boolean
  maxFrames?: number
}

/**
 * Tenant side: sends one request and yields the response frames up to and including `end`
 * or `error`. Breaking out of the loop closes the stream.
 */
export async function * leaseRequest (libp2p: Libp2p, provider: PeerId, request: LeaseRequest, opts: LeaseRequestOptions = {}): AsyncGenerator<LeaseResponse> {
  const follow = request.follow === true
  const timeoutMs = opts.timeoutMs ?? (follow ? undefined : EXCHANGE_TIMEOUT_MS)
  const local = new AbortController()
  const signal = opts.signal != null ? AbortSignal.any([local.signal, opts.signal]) : local.signal
  const { frames: fs } = await leaseDefinition.dial(libp2p, provider, { signal, timeoutMs: timeoutMs ?? false, runOnLimitedConnection: opts.runOnLimitedConnection, maxFrames: opts.maxFrames ?? MAX_LEASE_FRAMES })
  let finished = false
  try {
    await fs.write(requestFrame(request))
    await fs.close()
    for (;;) {
      const v = await fs.read()
      if (v === undefined) throw new NetError(NetErrorCode.STREAM_ENDED, 'provider closed the stream without an end frame')
      const r = decodeLeaseResponse(v)
      yield r
      if (r.kind === 'end' || r.kind === 'error') { finished = true; return }
    }
  } finally {
    if (!finished) {
      local.abort(new Error('lease request ended by the caller'))
      fs.abort(new NetError(NetErrorCode.ABORTED, 'lease request ended'))
    }
  }
}

async function collect (it: AsyncIterable<LeaseResponse>): Promise<LeaseResponse[]> {
  const out: LeaseResponse[] = []
  for await (const r of it) out.push(r)
  return out
}

function failIfError (rs: LeaseResponse[]): void {
  const e = rs.find((r) => r.kind === 'error')
  if (e?.kind === 'error') throw new NetError(e.code === LeaseErrorCode.NOT_AUTHORIZED ? NetErrorCode.NOT_AUTHORIZED : NetErrorCode.REFUSED, `${e.code}: ${e.reason}`)
}

/** The lease's status object, as the provider reports it. */
export async function leaseStatus (libp2p: Libp2p, provider: PeerId, lease: Uint8Array, opts: LeaseRequestOptions = {}): Promise<unknown> {
  const rs = await collect(leaseRequest(libp2p, provider, { type: LeaseRequestType.STATUS, lease }, opts))
  failIfError(rs)
  const s = rs.find((r) => r.kind === 'status')
  return s?.kind === 'status' ? s.status : undefined
}

/** Asks the provider to close the lease with a signed Close message. */
export async function leaseClose (libp2p: Libp2p, provider: PeerId, close: SignedMessage<CloseBody>, opts: LeaseRequestOptions = {}): Promise<void> {
  const rs = await collect(leaseRequest(libp2p, provider, { type: LeaseRequestType.CLOSE, lease: close.body.lease, close: close.bytes }, opts))
  failIfError(rs)
}

/** Log lines; with `follow` the iteration lasts until the caller stops or the provider ends it. */
export async function * leaseLogs (libp2p: Libp2p, provider: PeerId, lease: Uint8Array, o: { follow?: boolean, tail?: number, service?: string } & LeaseRequestOptions = {}): AsyncGenerator<LeaseLogLine> {
  for await (const r of leaseRequest(libp2p, provider, { type: LeaseRequestType.LOGS, lease, follow: o.follow, tail: o.tail, service: o.service }, o)) {
    if (r.kind === 'log') yield r.log
    else if (r.kind === 'error') failIfError([r])
  }
}

export async function * leaseEvents (libp2p: Libp2p, provider: PeerId, lease: Uint8Array, o: { follow?: boolean } & LeaseRequestOptions = {}): AsyncGenerator<LeaseEvent> {
  for await (const r of leaseRequest(libp2p, provider, { type: LeaseRequestType.EVENTS, lease, follow: o.follow }, o)) {
    if (r.kind === 'event') yield r.event
    else if (r.kind === 'error') failIfError([r])
  }
}
