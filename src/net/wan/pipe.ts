// Forwards bytes between two sockets through a WanLink per direction. Each chunk read from one
// socket is written to the other when its link says it arrives; what waits is bounded (the source
// is paused above a high-water mark), so a slow path pushes back on its writer as TCP would.
import type { Socket } from 'node:net'
import { QUEUE_HIGH_WATER_BYTES, QUEUE_LOW_WATER_BYTES } from './constants.ts'
import type { WanLink } from './link.ts'

export interface ShapedDirection {
  readonly link: WanLink
  /** bytes read from the source and not yet written to the destination */
  queuedBytes: () => number
}

export interface ShapedPipe {
  readonly forward: ShapedDirection
  readonly backward: ShapedDirection
  /** resolves once both sockets are closed */
  readonly closed: Promise<void>
  destroy: (err?: Error) => void
}

const now = (): number => performance.now()

function direction (src: Socket, dst: Socket, link: WanLink, onDone: () => void): ShapedDirection & { end: () => void, stop: () => void } {
  const queue: Array<{ at: number, buf: Buffer }> = []
  let queued = 0
  let timer: NodeJS.Timeout | undefined
  let pausedByUs = false
  let waitingDrain = false
  let ended = false
  let stopped = false
  let doneCalled = false
  const done = (): void => { if (!doneCalled) { doneCalled = true; onDone() } }

  const pump = (): void => {
    timer = undefined
    if (stopped || waitingDrain) return
    if (dst.destroyed || dst.writableEnded) { stop(); return }
    const t = now()
    // timers fire up to a millisecond early or late; a chunk due within half a millisecond goes now
    while (queue.length > 0 && queue[0].at <= t + 0.5) {
      const { buf } = queue.shift()!
      queued -= buf.length
      if (!dst.write(buf)) {
        waitingDrain = true
        dst.once('drain', () => { waitingDrain = false; pump() })
        break
      }
    }
    if (pausedByUs && queued <= QUEUE_LOW_WATER_BYTES) { pausedByUs = false; src.resume() }
    if (queue.length === 0) {
      if (ended) { stopped = true; if (!dst.destroyed && !dst.writableEnded) dst.end(); done() }
      return
    }
    if (!waitingDrain) timer = setTimeout(pump, Math.max(0, queue[0].at - t))
  }

  src.on('data', (buf: Buffer) => {
    if (stopped) return
    queue.push({ at: link.schedule(buf.length, now()), buf })
    queued += buf.length
    if (!pausedByUs && queued >= QUEUE_HIGH_WATER_BYTES) { pausedByUs = true; src.pause() }
    // the head of the queue is always due first (delivery times never go backwards), so a timer
    // already set for it stays right
    if (timer == null && !waitingDrain) pump()
  })
  const end = (): void => {
    if (ended) return
    ended = true
    if (timer == null && !waitingDrain) pump()
  }
  const stop = (): void => {
    stopped = true
    if (timer != null) clearTimeout(timer)
    timer = undefined
    queue.length = 0
    queued = 0
    done()
  }
  src.on('end', end)
  return { link, queuedBytes: () => queued, end, stop }
}

/**
 * Joins `a` and `b`: what `a` sends reaches `b` through `ab`, what `b` sends reaches `a` through
 * `ba`. Both sockets should be created with `allowHalfOpen: true`, so that an end from one side
 * is passed on only after the bytes before it have arrived. When a socket fails or closes, what it
 * sent before still arrives, then the other side is ended; what was on its way to it is dropped.
 */
export function shapedPipe (a: Socket, b: Socket, ab: WanLink, ba: WanLink): ShapedPipe {
  let finished = 0
  const finish = (): void => { if (++finished === 2) { a.destroy(); b.destroy() } }
  const forward = direction(a, b, ab, finish)
  const backward = direction(b, a, ba, finish)
  const gone = (from: typeof forward, to: typeof forward): void => { to.stop(); from.end() }
  a.on('error', () => { gone(forward, backward) })
  b.on('error', () => { gone(backward, forward) })
  a.once('close', () => { gone(forward, backward) })
  b.once('close', () => { gone(backward, forward) })
  const closedOne = async (s: Socket): Promise<void> => { if (!s.closed) await new Promise<void>((resolve) => s.once('close', () => resolve())) }
  return {
    forward,
    backward,
    closed: Promise.all([closedOne(a), closedOne(b)]).then(() => {}),
    destroy: (err?: Error) => {
      forward.stop()
      backward.stop()
      a.destroy(err)
      b.destroy(err)
    }
  }
}
