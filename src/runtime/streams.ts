// Small stream helpers: bounded queues that turn pushes into an async iterable (by count for
// small events, by bytes with back pressure for logs and exec output), a line splitter, and the
// decoder for Docker's multiplexed stdout/stderr framing.
import { MAX_LOG_LINE_BYTES, MAX_STREAM_BUFFER_BYTES, STREAM_ITEM_OVERHEAD_BYTES } from './constants.ts'
import { StreamOverflowError } from './errors.ts'

/**
 * What both queues share: items waiting for a single consumer, taken from the front in constant
 * time (an array's shift() copies the rest once the array is large, and a source pushing tiny
 * items would make draining quadratic).
 */
abstract class PushQueue<T> implements AsyncIterable<T> {
  private items: T[] = []
  private head = 0
  private waiter?: () => void
  protected ended = false
  private error?: unknown

  /** items waiting now */
  get length (): number { return this.items.length - this.head }

  protected add (item: T): void {
    this.items.push(item)
    this.wake()
  }

  protected take (): T {
    const item = this.items[this.head]
    this.items[this.head++] = undefined as T
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }

  /** called with each item as the consumer takes it */
  protected taken (_item: T): void {}

  end (err?: unknown): void {
    if (this.ended) return
    this.ended = true
    this.error = err
    if (err != null) this.clear()
    this.wake()
  }

  protected clear (): void {
    this.items = []
    this.head = 0
  }

  private wake (): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }

  async * [Symbol.asyncIterator] (): AsyncIterator<T> {
    while (true) {
      if (this.length > 0) {
        const item = this.take()
        this.taken(item)
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

/**
 * A single-consumer async queue. Producers push; the consumer iterates. When more than `limit`
 * items wait, the oldest are dropped (a slow log reader must not grow memory without bound).
 */
export class AsyncQueue<T> extends PushQueue<T> {
  private readonly limit: number
  dropped = 0

  constructor (limit = 10_000) {
    super()
    this.limit = limit
  }

  push (item: T): void {
    if (this.ended) return
    if (this.length >= this.limit) { this.take(); this.dropped++ }
    this.add(item)
  }
}

export interface ByteQueueInit<T> {
  /** bytes buffered before the sources are paused; they resume below half of it */
  maxBytes?: number
  /** what an item costs; STREAM_ITEM_OVERHEAD_BYTES is added to it */
  size: (item: T) => number
  /** stop reading the sources (back pressure) */
  pause: () => void
  resume: () => void
}

/**
 * A single-consumer queue bounded in bytes. Above `maxBytes` the sources are paused until the
 * reader catches up, so a tenant writing fast to a reader going slowly fills no memory. A source
 * that ignores the pause ends the stream once four times the bound is buffered. Each item costs
 * its size plus a fixed overhead, so a million one-byte writes are not a megabyte.
 */
export class ByteQueue<T> extends PushQueue<T> {
  private readonly init: ByteQueueInit<T>
  private readonly maxBytes: number
  private paused = false
  /** bytes waiting now, overhead included */
  bytes = 0
  /** the most bytes that waited at once */
  peak = 0

  constructor (init: ByteQueueInit<T>) {
    super()
    this.init = init
    this.maxBytes = init.maxBytes ?? MAX_STREAM_BUFFER_BYTES
  }

  private cost (item: T): number {
    return this.init.size(item) + STREAM_ITEM_OVERHEAD_BYTES
  }

  push (item: T): void {
    if (this.ended) return
    this.bytes += this.cost(item)
    this.peak = Math.max(this.peak, this.bytes)
    if (this.bytes > 4 * this.maxBytes) {
      this.end(new StreamOverflowError(this.maxBytes))
      return
    }
    this.add(item)
    if (!this.paused && this.bytes > this.maxBytes) {
      this.paused = true
      this.init.pause()
    }
  }

  protected override clear (): void {
    super.clear()
    this.bytes = 0
  }

  protected override taken (item: T): void {
    this.bytes -= this.cost(item)
    if (this.paused && this.bytes <= this.maxBytes / 2 && !this.ended) {
      this.paused = false
      this.init.resume()
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
