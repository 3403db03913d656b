// Token buckets keyed by peer (or signer). A bucket holds up to `burst` tokens and refills at
// `perSecond`; a message takes one. The map is bounded: idle buckets (full again) are the first
// to go, so a flood of fresh keys cannot grow memory.

export interface RateLimit {
  /** sustained messages per second */
  perSecond: number
  /** messages allowed at once */
  burst: number
}

interface Bucket { tokens: number, at: number, overflow: number, overflowAt: number }

export interface TokenBucketsInit extends RateLimit {
  /** keys remembered at most */
  maxKeys?: number
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>()
  private readonly perMs: number
  private readonly burst: number
  private readonly maxKeys: number

  constructor (init: TokenBucketsInit) {
    if (!(init.perSecond > 0) || !(init.burst >= 1)) throw new RangeError('rate limit needs perSecond > 0 and burst >= 1')
    this.perMs = init.perSecond / 1000
    this.burst = init.burst
    this.maxKeys = init.maxKeys ?? 10_000
  }

  /**
   * Takes a token for `key`. Returns true when one was there; false means over the limit.
   * `overflow` (see `overflowOf`) counts refusals and decays at the refill rate, so it measures
   * how far beyond the limit a key has been lately.
   */
  take (key: string, now: number): boolean {
    let b = this.buckets.get(key)
    if (b == null) {
      if (this.buckets.size >= this.maxKeys) this.evict(now)
      b = { tokens: this.burst, at: now, overflow: 0, overflowAt: now }
      this.buckets.set(key, b)
    } else {
      this.buckets.delete(key) // re-insert: the map stays in least-recently-used order
      this.buckets.set(key, b)
    }
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs)
    b.at = now
    b.overflow = Math.max(0, b.overflow - (now - b.overflowAt) * this.perMs)
    b.overflowAt = now
    if (b.tokens >= 1) {
      b.tokens -= 1
      return true
    }
    b.overflow += 1
    return false
  }

  /** refusals lately (decaying); 0 for unknown keys */
  overflowOf (key: string): number {
    return this.buckets.get(key)?.overflow ?? 0
  }

  get size (): number { return this.buckets.size }

  private evict (now: number): void {
    // oldest first; a quarter at a time so eviction is rare
    let n = Math.max(1, this.maxKeys >> 2)
    for (const [k, b] of this.buckets) {
      if (n-- <= 0) break
      if (b.overflow > 0 && now - b.at < 1000) continue // keep the ones misbehaving right now
      this.buckets.delete(k)
    }
    if (this.buckets.size >= this.maxKeys) {
      const first = this.buckets.keys().next()
      if (first.done !== true) this.buckets.delete(first.value)
    }
  }
}
