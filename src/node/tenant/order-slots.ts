// A tenant's own flow control. A provider bids on at most DEFAULT_MAX_RESERVATIONS_PER_TENANT
// open orders of one tenant at once (market/constants.ts: a tenant flooding orders must not take
// all of a provider's reservations), and its book keeps at most BOOK_MAX_ORDERS_PER_TENANT of them.
// An order past those bounds gets no bid and expires with "no bids". So a tenant node has at most
// that many of its own orders open at once and queues the rest; a slot is freed a little after
// the order's outcome, since providers may hear of it later than the tenant does. A script
// deploying 50 files at once then gets its leases a little later, instead of most of its orders
// expiring with no bids.
import { DEFAULT_MAX_RESERVATIONS_PER_TENANT } from '../../market/index.ts'

/** orders of its own a tenant has open at once: what a provider bids on for one tenant, by default */
export const OPEN_ORDER_SLOTS = DEFAULT_MAX_RESERVATIONS_PER_TENANT
/** how long after an order's outcome its slot stays taken (providers hearing of it later) */
export const SLOT_RELEASE_DELAY_MS = 2_000

export class OrderSlots {
  readonly max: number
  private taken = 0
  private readonly waiting: Array<() => void> = []

  private readonly releaseDelayMs: number

  constructor (max = OPEN_ORDER_SLOTS, releaseDelayMs = SLOT_RELEASE_DELAY_MS) {
    this.max = Math.max(1, max)
    this.releaseDelayMs = releaseDelayMs
  }

  /** orders open now */
  get open (): number { return this.taken }
  /** deployments waiting for a slot */
  get queued (): number { return this.waiting.length }

  /**
   * A slot for one order, once one is free (first come, first served); `onWait` is called once
   * when the caller has to wait. The returned function frees it, after the release delay (more
   * calls do nothing). An abort while waiting rejects with the signal's reason and takes no slot.
   */
  async acquire (signal?: AbortSignal, onWait?: (open: number, queued: number) => void): Promise<() => void> {
    signal?.throwIfAborted()
    if (this.taken < this.max && this.waiting.length === 0) return this.take()
    onWait?.(this.taken, this.waiting.length + 1)
    await new Promise<void>((resolve, reject) => {
      const go = (): void => { signal?.removeEventListener('abort', abort); resolve() }
      const abort = (): void => {
        const i = this.waiting.indexOf(go)
        if (i >= 0) this.waiting.splice(i, 1)
        reject(signal?.reason)
      }
      this.waiting.push(go)
      signal?.addEventListener('abort', abort, { once: true })
    })
    // the slot was handed over by the one who freed it: still counted as taken
    return this.freer()
  }

  /** a slot taken without waiting: an order already out (a deployment resumed after a restart) */
  take (): () => void {
    this.taken++
    return this.freer()
  }

  private freer (): () => void {
    let freed = false
    const free = (): void => {
      // the first waiter gets this slot as it is, so nobody arriving meanwhile can take it
      const next = this.waiting.shift()
      if (next != null) next()
      else this.taken--
    }
    return () => {
      if (freed) return
      freed = true
      if (this.releaseDelayMs <= 0) { free(); return }
      // a timer that does not keep a stopping node alive
      setTimeout(free, this.releaseDelayMs).unref()
    }
  }
}
