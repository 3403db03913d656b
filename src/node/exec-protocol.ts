// `/souk/exec/1.0.0`: a command (an interactive shell, say) in a lease's container, for the
// lease's tenant only. The first frame names the command; then stdin flows tenant → provider and
// output flows back, until the command exits. Frames are length-prefixed CBOR maps.
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { FrameStream, frameOf } from '../net/index.ts'
import type { SoukNode } from '../net/index.ts'
import { schema, HASH_BYTES, toHex } from '../wire/index.ts'
import type { ExecHandle, ExecOutput } from '../runtime/index.ts'

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

export type ExecStarter = (remote: PeerId, req: ExecRequest) => Promise<ExecHandle>

/** Provider side. `start` authorizes (throws an error with a code to refuse) and starts the command. */
export async function handleExec (net: SoukNode, start: ExecStarter): Promise<() => Promise<void>> {
  await net.libp2p.handle(EXEC_PROTOCOL, (stream: Stream, connection: Connection) => {
    void (async () => {
      const ac = new AbortController()
      let idle = setTimeout(() => ac.abort(), IDLE_MS)
      const touch = (): void => { clearTimeout(idle); idle = setTimeout(() => ac.abort(), IDLE_MS) }
      const fs = new FrameStream(stream, { maxFrameBytes: MAX_FRAME, signal: ac.signal })
      try {
        const o = frameOf(await fs.readRequired('exec request'), REQUEST, ['lease', 'service', 'command', 'tty'])
        const req: ExecRequest = {
          lease: schema.bytes(o.lease, 'frame.lease', HASH_BYTES),
          service: schema.str(o.service, 'frame.service', 64, 1),
          command: schema.arr(o.command, 'frame.command', 64, (x, p) => schema.str(x, p, 4096), 1),
          tty: schema.bool(o.tty, 'frame.tty')
        }
        let handle: ExecHandle
        try {
          handle = await start(connection.remotePeer, req)
        } catch (err: any) {
          await fs.write({ t: ERROR, v: 1, code: String(err?.code ?? 'ERR_EXEC_FAILED'), reason: String(err?.message ?? err).slice(0, 500) })
          await fs.close()
          return
        }
        // stdin: tenant → container
        const input = (async () => {
          for (;;) {
            const f = await fs.read().catch(() => undefined)
            if (f === undefined) { handle.stdin.end(); return }
            touch()
            const m = f as Record<string, unknown>
            if (m?.t === STDIN) handle.stdin.write(schema.bytes(m.data, 'frame.data', { min: 0, max: MAX_FRAME }))
            else if (m?.t === EOF) { handle.stdin.end(); return }
          }
        })()
        for await (const out of handle.output) {
          touch()
          await fs.write({ t: OUTPUT, v: 1, stream: out.stream, data: out.data })
        }
        await fs.write({ t: EXIT, v: 1, code: await handle.exitCode })
        await fs.close()
        void input
      } catch (err: any) {
        fs.abort(err)
      } finally {
        clearTimeout(idle)
      }
    })()
  }, { maxInboundStreams: 16 })
  return async () => { await net.libp2p.unhandle(EXEC_PROTOCOL) }
}

/** Tenant side: the remote command as a handle with stdin, output and the exit code. */
export async function openExec (net: SoukNode, provider: PeerId, req: ExecRequest, signal?: AbortSignal): Promise<ExecHandle> {
  const stream = await net.libp2p.dialProtocol(provider, EXEC_PROTOCOL, { signal: AbortSignal.any([AbortSignal.timeout(10_000), ...(signal != null ? [signal] : [])]) })
  const fs = new FrameStream(stream, { maxFrameBytes: MAX_FRAME, signal })
  await fs.write({ t: REQUEST, v: 1, lease: req.lease, service: req.service, command: req.command, tty: req.tty })
  let resolveExit: (code: number) => void = () => {}
  let rejectExit: (err: Error) => void = () => {}
  const exitCode = new Promise<number>((resolve, reject) => { resolveExit = resolve; rejectExit = reject })
  exitCode.catch(() => {})
  async function * output (): AsyncGenerator<ExecOutput> {
    try {
      for (;;) {
        const f = await fs.read() as Record<string, unknown> | undefined
        if (f === undefined) { rejectExit(new Error('the provider ended the session without an exit code')); return }
        if (f.t === OUTPUT) yield { stream: f.stream === 'stderr' ? 'stderr' : 'stdout', data: schema.bytes(f.data, 'frame.data', { min: 0, max: MAX_FRAME }) }
        else if (f.t === EXIT) { resolveExit(schema.uint(f.code, 'frame.code', 255)); return }
        else if (f.t === ERROR) {
          const err = Object.assign(new Error(`${String(f.reason)}`), { code: String(f.code) })
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
