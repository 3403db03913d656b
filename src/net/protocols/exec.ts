// `/souk/exec/1.0.0`: a command (an interactive shell, say) in a lease's container, for the
// lease's tenant only, and never once the lease is closed. The first frame names the command; then
// stdin flows tenant → provider and output flows back, until the command exits. Frames are
// length-prefixed CBOR maps, each decoded by one of the functions below (a NetError otherwise).
import type { Libp2p, PeerId } from '@libp2p/interface'
import { schema, HASH_BYTES, toHex } from '../../wire/index.ts'
import { errorCode, errorMessage } from '../../util/index.ts'
import { checkFrame, frameOf } from '../frames.ts'
import { NetError, NetErrorCode } from '../errors.ts'
import { ExecRefusedError } from './errors.ts'
import { defineProtocol } from './define-protocol.ts'
import type { ProtocolComponents, StreamProtocol } from './define-protocol.ts'

export const EXEC_PROTOCOL = '/souk/exec/1.0.0'
const REQUEST = 'souk/exec-request'
const STDIN = 'souk/exec-stdin'
const EOF = 'souk/exec-eof'
const OUTPUT = 'souk/exec-output'
const EXIT = 'souk/exec-exit'
const ERROR = 'souk/exec-error'
const MAX_FRAME = 64 * 1024
/** a session ends after this long without a frame either way */
const IDLE_MS = 30 * 60_000

export interface ExecRequest { lease: Uint8Array, service: string, command: string[], tty: boolean }

/** a chunk of a command's output */
export interface ExecOutput { stream: 'stdout' | 'stderr', data: Uint8Array }

/** A running command: the runtime's exec handle has this shape. */
export interface ExecSession {
  stdin: {
    write: (data: Uint8Array | string) => void
    end: () => void
  }
  output: AsyncIterable<ExecOutput>
  exitCode: Promise<number>
}

export type ExecStarter = (remote: PeerId, req: ExecRequest) => Promise<ExecSession>

export const execDefinition = defineProtocol({
  name: 'exec',
  ids: [EXEC_PROTOCOL],
  maxInboundStreams: 16,
  runOnLimitedConnection: false,
  maxFrameBytes: MAX_FRAME,
  // no deadline: a session lasts while frames flow (IDLE_MS)
  dialTimeoutMs: 10_000
})

/** what the tenant sends after the request */
export type ExecInput = { kind: 'stdin', data: Uint8Array } | { kind: 'eof' }
/** what the provider sends */
export type ExecReply =
  | { kind: 'output', stream: 'stdout' | 'stderr', data: Uint8Array }
  | { kind: 'exit', code: number }
  | { kind: 'error', code: string, reason: string }

/** The first frame: which command where. */
export function decodeExecRequest (v: unknown): ExecRequest {
  const o = frameOf(v, REQUEST, ['lease', 'service', 'command', 'tty'])
  return checkFrame(() => ({
    lease: schema.bytes(o.lease, 'frame.lease', HASH_BYTES),
    service: schema.str(o.service, 'frame.service', 64, 1),
    command: schema.arr(o.command, 'frame.command', 64, (x, p) => schema.str(x, p, 4096), 1),
    tty: schema.bool(o.tty, 'frame.tty')
  }))
}

/** A frame after the request, tenant → provider. */
export function decodeExecInput (v: unknown): ExecInput {
  const t = (v as { t?: unknown } | null)?.t
  if (t === EOF) { frameOf(v, EOF, []); return { kind: 'eof' } }
  const o = frameOf(v, STDIN, ['data'])
  return checkFrame(() => ({ kind: 'stdin', data: schema.bytes(o.data, 'frame.data', { min: 0, max: MAX_FRAME }) }))
}

/** A frame provider → tenant. */
export function decodeExecReply (v: unknown): ExecReply {
  const t = (v as { t?: unknown } | null)?.t
  return checkFrame(() => {
    if (t === EXIT) return { kind: 'exit', code: schema.uint(frameOf(v, EXIT, ['code']).code, 'frame.code', 255) }
    if (t === ERROR) {
      const o = frameOf(v, ERROR, ['code', 'reason'])
      return { kind: 'error', code: schema.str(o.code, 'frame.code', 64, 1), reason: schema.str(o.reason, 'frame.reason', 512) }
    }
    const o = frameOf(v, OUTPUT, ['stream', 'data'])
    const stream = schema.str(o.stream, 'frame.stream', 6)
    if (stream !== 'stdout' && stream !== 'stderr') throw new NetError(NetErrorCode.MALFORMED_FRAME, 'frame.stream: must be stdout or stderr')
    return { kind: 'output', stream, data: schema.bytes(o.data, 'frame.data', { min: 0, max: MAX_FRAME }) }
  })
}

export interface ExecHandlerInit {
  /**
   * whether a lease is closed (the node's lease book hears every close: the tenant's, gossiped,
   * and the provider's own, which it records)
   */
  isClosed: (leaseIdHex: string) => boolean
}

/**
 * Provider side as a service. `start` authorizes (throws an error with a code to refuse) and
 * starts the command. A closed lease is refused before `start` runs.
 */
export function execProtocol (start: ExecStarter, init: ExecHandlerInit): (components: ProtocolComponents) => StreamProtocol {
  return (components) => execDefinition.serve(components, async ({ frames: fs, remotePeer, stopped }) => {
    const idleOut = new AbortController()
    const expire = (): void => { idleOut.abort(new DOMException('exec session idle', 'TimeoutError')) }
    let idle = setTimeout(expire, IDLE_MS)
    const touch = (): void => { clearTimeout(idle); idle = setTimeout(expire, IDLE_MS) }
    fs.setSignal(AbortSignal.any([idleOut.signal, stopped]))
    try {
      const req = decodeExecRequest(await fs.readRequired('exec request'))
      let handle: ExecSession
      try {
        if (init.isClosed(toHex(req.lease))) throw new ExecRefusedError('ERR_LEASE_CLOSED', `lease ${toHex(req.lease)} is closed`)
        handle = await start(remotePeer, req)
      } catch (err) {
        const code = errorCode(err) ?? 'ERR_EXEC_FAILED'
        await fs.write({ t: ERROR, v: 1, code, reason: errorMessage(err).slice(0, 500) })
        await fs.close()
        return { refused: code }
      }
      // stdin: tenant → container; a frame that is not stdin or eof ends the input (and the session)
      void (async () => {
        for (;;) {
          const f = await fs.read().catch(() => undefined)
          if (f === undefined) { handle.stdin.end(); return }
          touch()
          const m = decodeExecInput(f)
          if (m.kind === 'stdin') handle.stdin.write(m.data)
          else { handle.stdin.end(); return }
        }
      })().catch((err: unknown) => {
        handle.stdin.end()
        fs.abort(err instanceof Error ? err : new Error(errorMessage(err)))
      })
      for await (const out of handle.output) {
        touch()
        await fs.write({ t: OUTPUT, v: 1, stream: out.stream, data: out.data })
      }
      await fs.write({ t: EXIT, v: 1, code: await handle.exitCode })
      await fs.close()
      return undefined
    } finally {
      clearTimeout(idle)
    }
  })
}

/** Registers the provider side. Returns a function that unregisters it. */
export async function handleExec (net: ProtocolComponents, start: ExecStarter, init: ExecHandlerInit): Promise<() => Promise<void>> {
  const service = execProtocol(start, init)({ libp2p: net.libp2p, metrics: net.metrics, logger: net.logger })
  await service.start()
  return service.stop
}

/** Tenant side: the remote command as a handle with stdin, output and the exit code. */
export async function openExec (net: { libp2p: Libp2p }, provider: PeerId, req: ExecRequest, signal?: AbortSignal): Promise<ExecSession> {
  // the dial has a deadline; the session then lasts until the command exits or `signal` fires
  const { frames: fs } = await execDefinition.dial(net.libp2p, provider, { signal })
  fs.setSignal(signal)
  await fs.write({ t: REQUEST, v: 1, lease: req.lease, service: req.service, command: req.command, tty: req.tty })
  let resolveExit: (code: number) => void = () => {}
  let rejectExit: (err: Error) => void = () => {}
  const exitCode = new Promise<number>((resolve, reject) => { resolveExit = resolve; rejectExit = reject })
  exitCode.catch(() => {})
  async function * output (): AsyncGenerator<ExecOutput> {
    try {
      for (;;) {
        const v = await fs.read()
        if (v === undefined) { rejectExit(new NetError(NetErrorCode.STREAM_ENDED, 'the provider ended the session without an exit code')); return }
        let f: ExecReply
        try {
          f = decodeExecReply(v)
        } catch (err) {
          rejectExit(err instanceof Error ? err : new Error(errorMessage(err)))
          throw err
        }
        if (f.kind === 'output') yield { stream: f.stream, data: f.data }
        else if (f.kind === 'exit') { resolveExit(f.code); return }
        else {
          const err = new ExecRefusedError(f.code, f.reason)
          rejectExit(err)
          throw err
        }
      }
    } finally {
      await fs.close().catch(() => {})
    }
  }
  return {
    stdin: {
      write: (data) => { void fs.write({ t: STDIN, v: 1, data: typeof data === 'string' ? new TextEncoder().encode(data) : data }).catch(() => {}) },
      end: () => { void fs.write({ t: EOF, v: 1 }).catch(() => {}) }
    },
    output: output(),
    exitCode
  }
}

export function leaseIdHex (req: ExecRequest): string { return toHex(req.lease) }
