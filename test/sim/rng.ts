// A small seeded generator (mulberry32): the simulator draws every random choice from it.
export interface Rng {
  next: () => number
  int: (lo: number, hi: number) => number
  chance: (p: number) => boolean
  pick: <T>(xs: readonly T[]) => T
  shuffle: <T>(xs: T[]) => T[]
  fork: () => Rng
}

export function rng (seed: number): Rng {
  let a = (seed >>> 0) ^ 0x9e3779b9
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const r: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    shuffle: (xs) => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [xs[i], xs[j]] = [xs[j], xs[i]]
      }
      return xs
    },
    fork: () => rng(Math.floor(next() * 2 ** 32))
  }
  return r
}
