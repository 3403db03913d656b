// Length-prefixed CBOR frames on a libp2p stream (unsigned varint length, then one CBOR item),
// with a size limit per frame, a count limit per stream and an AbortSignal that ends the stream.
import * as lp from 'it-length-prefixed'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { encodeCbor, decodeCbor, WireError, schema } from '../wire/index.ts'
import { FRAME_VERSION } from './constants.ts'
import { NetError, NetErrorCode } from './errors.ts'
import { errorMessage, errorName } from '../util/index.ts'

export interface FrameStreamInit {
  /** largest frame read (and written, unless maxWriteBytes says otherwise), bytes */
  maxFrameBytes: number
  /** largest frame written, bytes, where a request may be larger than its answer */
  maxWriteBytes?: number
  /** frames read at most; one more is an error */
  maxFrames?: number
  /** aborts the stream (timeouts are signals too) */
  signal?: AbortSignal
}

export class FrameStream {
  readonly stream: Stream
  private readonly maxFrameBytes: number
  private readonly maxWriteBytes: number
  private readonly maxFrames: number
  private signal?: AbortSignal
  private readonly frames: AsyncIterator<Uint8ArrayList>
  private readonly onAbort: () => void
  private count = 0

  constructor (stream: Stream, init: FrameStreamInit) {
    this.stream = stream
    this.maxFrameBytes = init.maxFrameBytes
    this.maxWriteBytes = init.maxWriteBytes ?? init.maxFrameBytes
    this.maxFrames = init.maxFrames ?? Infinity
    this.signal = init.signal
    this.frames = lp.decode(stream, { maxDataLength: init.maxFrameBytes })[Symbol.asyncIterator]()
    this.onAbort = () => {
      const timeout = errorName(this.signal?.reason) === 'TimeoutError'
      stream.abort(new NetError(timeout ? NetErrorCode.TIMEOUT : NetErrorCode.ABORTED, timeout ? `${stream.protocol ?? 'stream'} timed out` : `${stream.protocol ?? 'stream'} aborted`))
    }
    if (this.signal?.aborted === true) this.onAbort()
    else this.signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /** The next frame's CBOR value, or undefined when the remote closed its side cleanly. */
  async read (): Promise<unknown> {
    const bytes = await this.readBytes()
    if (bytes === undefined) return undefined
    try {
      return decodeCbor(bytes, this.maxFrameBytes, 'frame')
    } catch (err) {
      if (err instanceof WireError) throw new NetError(NetErrorCode.MALFORMED_FRAME, err.message)
      throw err
    }
  }

  /** The next frame's bytes, or undefined when the remote closed its side cleanly. */
  async readBytes (): Promise<Uint8Array | undefined> {
    this.throwIfAborted()
    let r: IteratorResult<Uint8ArrayList>
    try {
      r = await this.frames.next()
    } catch (err) {
      this.throwIfAborted()
      if (errorName(err) === 'InvalidDataLengthError') throw new NetError(NetErrorCode.FRAME_TOO_LARGE, `frame is larger than ${this.maxFrameBytes} bytes`)
      if (err instanceof NetError) throw err
      throw new NetError(NetErrorCode.MALFORMED_FRAME, `stream failed: ${errorMessage(err).slice(0, 200)}`)
    }
    if (r.done === true) return undefined
    if (++this.count > this.maxFrames) throw new NetError(NetErrorCode.TOO_MANY_FRAMES, `more than ${this.maxFrames} frames`)
    return r.value.subarray()
  }

  /** Like read, but the stream ending here is an error. */
  async readRequired (what: string): Promise<unknown> {
    const v = await this.read()
    if (v === undefined) throw new NetError(NetErrorCode.STREAM_ENDED, `stream ended before the ${what}`)
    return v
  }

  async write (value: unknown): Promise<void> {
    await this.writeBytes(encodeCbor(value))
  }

  async writeBytes (bytes: Uint8Array): Promise<void> {
    this.throwIfAborted()
    if (bytes.length > this.maxWriteBytes) throw new NetError(NetErrorCode.FRAME_TOO_LARGE, `frame of ${bytes.length} bytes exceeds ${this.maxWriteBytes}`)
    if (!this.stream.send(lp.encode.single(bytes))) {
      await this.stream.onDrain({ signal: this.signal })
    }
  }

  /** Closes the writing side (after pending data is sent) and releases the signal. */
  async close (): Promise<void> {
    try {
      if (this.stream.writeStatus === 'writable') await this.stream.close({ signal: this.signal })
    } catch (err) {
      this.stream.abort(err instanceof Error ? err : new Error(errorMessage(err)))
    } finally {
      this.release()
    }
  }

  /** Replaces the signal (say, a request deadline by a response deadline). */
  setSignal (signal: AbortSignal | undefined): void {
    this.release()
    this.signal = signal
    if (signal?.aborted === true) this.onAbort()
    else signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /** From now on any further data from the remote is a protocol error that ends the stream. */
  expectNoMore (): void {
    this.stream.addEventListener('message', () => {
      this.abort(new NetError(NetErrorCode.TOO_MANY_FRAMES, 'data after the last frame this protocol allows'))
    }, { once: true })
  }

  abort (err: Error): void {
    this.release()
    if (this.stream.status === 'open') this.stream.abort(err)
  }

  /** true when the stream's signal ended it at a deadline */
  timedOut (): boolean {
    return this.signal?.aborted === true && errorName(this.signal.reason) === 'TimeoutError'
  }

  private release (): void {
    this.signal?.removeEventListener('abort', this.onAbort)
  }

  private throwIfAborted (): void {
    if (this.signal?.aborted === true) {
      const timeout = errorName(this.signal.reason) === 'TimeoutError'
      throw new NetError(timeout ? NetErrorCode.TIMEOUT : NetErrorCode.ABORTED, timeout ? 'timed out' : 'aborted')
    }
  }
}

/**
 * Runs a frame's field checks: a WireError (a field outside its schema) becomes a NetError
 * MALFORMED_FRAME with the same message, so every stream protocol refuses bad frames alike.
 */
export function checkFrame<T> (f: () => T): T {
  try {
    return f()
  } catch (err) {
    if (err instanceof WireError) throw new NetError(NetErrorCode.MALFORMED_FRAME, err.message)
    throw err
  }
}

/** Checks a frame's `t` and `v` and returns it as a map with exactly the allowed keys. */
export function frameOf (value: unknown, tag: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  return checkFrame(() => {
    const o = schema.map(value, 'frame', ['t', 'v', ...required], optional)
    const t = schema.str(o.t, 'frame.t', 64, 1)
    if (t !== tag) throw new NetError(NetErrorCode.MALFORMED_FRAME, `expected a ${tag} frame, got ${t}`)
    if (o.v !== FRAME_VERSION) throw new NetError(NetErrorCode.MALFORMED_FRAME, `${tag} frame version ${String(o.v)} is not supported (this node speaks ${FRAME_VERSION})`)
    return o
  })
}

/** A signal that fires at `timeoutMs` or when `outer` fires, whichever is first. */
export function withTimeout (timeoutMs: number, outer?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(timeoutMs)
  return outer == null ? t : AbortSignal.any([t, outer])
}
