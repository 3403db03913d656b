// Small stream helpers: bounded queues that turn pushes into an async iterable (by count for
// small events, by bytes with back pressure for logs and exec output), a line splitter, and the
// decoder for Docker's multiplexed stdout/stderr framing.
import { MAX_LOG_LINE_BYTES, MAX_STREAM_BUFFER_BYTES } from './constants.ts'
import { StreamOverflowError } from './errors.ts'

/**
 * A single-consumer async queue. Producers push; the consumer iterates. When more than `limit`
 * items wait, the oldest are dropped (a slow log reader must not grow memory without bound).
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = []
  private readonly limit: number
  private waiter?: () => void
  private ended = false
  private error?: unknown
  dropped = 0

  constructor (limit = 10_000) {
    this.limit = limit
  }

  push (item: T): void {
    if (this.ended) return
    this.items.push(item)
    if (this.items.length > this.limit) { this.items.shift(); this.dropped++ }
    this.wake()
  }

  end (err?: unknown): void {
    if (this.ended) return
    this.ended = true
    this.error = err
    this.wake()
  }

  private wake (): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }

  async * [Symbol.asyncIterator] (): AsyncIterator<T> {
    while (true) {
      if (this.items.length > 0) {
        yield this.items.shift() as T
        continue
      }
      if (this.ended) {
        if (this.error != null) throw this.error
        return
      }
      await new Promise<void>((resolve) => { this.waiter = resolve })
    }
  }
}

export interface ByteQueueInit<T> {
  /** bytes buffered before the sources are paused; they resume below half of it */
  maxBytes?: number
  /** what an item costs */
  size: (item: T) => number
  /** stop reading the sources (back pressure) */
  pause: () => void
  resume: () => void
}

/**
 * A single-consumer queue bounded in bytes. Above `maxBytes` the sources are paused until the
 * reader catches up, so a tenant writing fast to a reader going slowly fills no memory. A source
 * that ignores the pause ends the stream once four times the bound is buffered.
 */
export class ByteQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = []
  private readonly init: ByteQueueInit<T>
  private readonly maxBytes: number
  private waiter?: () => void
  private ended = false
  private error?: unknown
  private paused = false
  /** bytes waiting now */
  bytes = 0
  /** the most bytes that waited at once */
  peak = 0

  constructor (init: ByteQueueInit<T>) {
    this.init = init
    this.maxBytes = init.maxBytes ?? MAX_STREAM_BUFFER_BYTES
  }

  push (item: T): void {
    if (this.ended) return
    this.items.push(item)
    this.bytes += this.init.size(item)
    this.peak = Math.max(this.peak, this.bytes)
    if (this.bytes > 4 * this.maxBytes) {
      this.end(new StreamOverflowError(this.maxBytes))
      return
    }
    if (!this.paused && this.bytes > this.maxBytes) {
      this.paused = true
      this.init.pause()
    }
    this.wake()
  }

  end (err?: unknown): void {
    if (this.ended) return
    this.ended = true
    this.error = err
    if (err != null) { this.items.length = 0; this.bytes = 0 }
    this.wake()
  }

  private wake (): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }

  async * [Symbol.asyncIterator] (): AsyncIterator<T> {
    while (true) {
      if (this.items.length > 0) {
        const item = this.items.shift() as T
        this.bytes -= this.init.size(item)
        if (this.paused && this.bytes <= this.maxBytes / 2 && !this.ended) {
          this.paused = false
          this.init.resume()
        }
        yield item
        continue
      }
      if (this.ended) {
        if (this.error != null) throw this.error
        return
      }
      await new Promise<void>((resolve) => { this.waiter = resolve })
    }
  }
}

/** Splits a byte stream into lines (without the newline); lines longer than the limit are cut. */
export class LineSplitter {
  private buf = ''
  private readonly decoder = new TextDecoder()

  push (chunk: Uint8Array): string[] {
    this.buf += this.decoder.decode(chunk, { stream: true })
    const lines = this.buf.split('\n')
    this.buf = lines.pop() ?? ''
    while (this.buf.length > MAX_LOG_LINE_BYTES) {
      lines.push(this.buf.slice(0, MAX_LOG_LINE_BYTES))
      this.buf = this.buf.slice(MAX_LOG_LINE_BYTES)
    }
    return lines.map((l) => l.endsWith('\r') ? l.slice(0, -1) : l)
  }

  flush (): string[] {
    const rest = this.buf + this.decoder.decode()
    this.buf = ''
    return rest.length > 0 ? [rest] : []
  }
}

/**
 * Docker's attach/logs framing for non-TTY containers: 8-byte header
 * [stream(1=stdout, 2=stderr), 0, 0, 0, size uint32 BE] then `size` bytes.
 */
export class DockerFrameDecoder {
  private pending = new Uint8Array(0)
  /** frames larger than this mean the stream is not framed (or corrupt): give up */
  private readonly maxFrame = 16 * 1024 * 1024

  push (chunk: Uint8Array): Array<{ stream: 'stdout' | 'stderr', data: Uint8Array }> {
    const joined = new Uint8Array(this.pending.length + chunk.length)
    joined.set(this.pending, 0)
    joined.set(chunk, this.pending.length)
    const out: Array<{ stream: 'stdout' | 'stderr', data: Uint8Array }> = []
    let off = 0
    while (joined.length - off >= 8) {
      const kind = joined[off]
      const size = ((joined[off + 4] << 24) >>> 0) + (joined[off + 5] << 16) + (joined[off + 6] << 8) + joined[off + 7]
      if (size > this.maxFrame) throw new Error(`docker stream frame of ${size} bytes exceeds ${this.maxFrame}`)
      if (joined.length - off - 8 < size) break
      out.push({ stream: kind === 2 ? 'stderr' : 'stdout', data: joined.slice(off + 8, off + 8 + size) })
      off += 8 + size
    }
    this.pending = joined.slice(off)
    return out
  }
}

export function abortPromise (signal: AbortSignal | undefined): Promise<void> | undefined {
  if (signal == null) return undefined
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => { resolve() }, { once: true })
  })
}
