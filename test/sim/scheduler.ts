// Discrete-event scheduler: a binary heap of (time, sequence) so equal times run in the order
// they were scheduled. Nothing in the simulator reads a real clock.
interface Ev { at: number, seq: number, fn: () => void, live: boolean }

export class Scheduler {
  now = 0
  steps = 0
  private seq = 0
  private readonly heap: Ev[] = []

  at (time: number, fn: () => void): () => void {
    const ev: Ev = { at: Math.max(time, this.now), seq: this.seq++, fn, live: true }
    this.push(ev)
    return () => { ev.live = false }
  }

  after (ms: number, fn: () => void): () => void { return this.at(this.now + ms, fn) }

  /** runs events up to `until`; `check` runs after every step */
  run (until: number, check: () => void): void {
    while (this.heap.length > 0 && this.heap[0].at <= until) {
      const ev = this.pop()
      if (!ev.live) continue
      this.now = ev.at
      this.steps++
      ev.fn()
      check()
    }
    this.now = until
  }

  private push (ev: Ev): void {
    const h = this.heap
    h.push(ev)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (less(h[p], h[i])) break
      [h[p], h[i]] = [h[i], h[p]]
      i = p
    }
  }

  private pop (): Ev {
    const h = this.heap
    const top = h[0]
    const last = h.pop() as Ev
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1; const r = l + 1
        let m = i
        if (l < h.length && less(h[l], h[m])) m = l
        if (r < h.length && less(h[r], h[m])) m = r
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]]
        i = m
      }
    }
    return top
  }
}

function less (a: Ev, b: Ev): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
