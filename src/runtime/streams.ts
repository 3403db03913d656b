// Small stream helpers: a bounded queue that turns pushes into an async iterable, a line
// splitter, and the decoder for Docker's multiplexed stdout/stderr framing.
import { MAX_LOG_LINE_BYTES } from './constants.ts'

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
