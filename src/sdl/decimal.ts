// Exact decimal arithmetic for prices: amounts are strings like "10000" or "0.5", and totals
// must not pick up binary floating-point noise.

interface Scaled { digits: bigint, scale: number }

function scaled (amount: string): Scaled {
  const [whole, frac = ''] = amount.split('.')
  return { digits: BigInt(whole + frac), scale: frac.length }
}

function rescale (x: Scaled, scale: number): bigint {
  return x.digits * 10n ** BigInt(scale - x.scale)
}

function render (digits: bigint, scale: number): string {
  if (scale === 0) return digits.toString()
  const s = digits.toString().padStart(scale + 1, '0')
  const whole = s.slice(0, s.length - scale)
  const frac = s.slice(s.length - scale).replace(/0+$/, '')
  return frac === '' ? whole : `${whole}.${frac}`
}

/** Σ amount × count, as a decimal string without trailing zeros after the point. */
export function sumProducts (terms: Array<{ amount: string, count: number }>): string {
  const parts = terms.map((t) => ({ x: scaled(t.amount), count: BigInt(t.count) }))
  const scale = parts.reduce((m, p) => Math.max(m, p.x.scale), 0)
  let total = 0n
  for (const p of parts) total += rescale(p.x, scale) * p.count
  return render(total, scale)
}

/** -1, 0 or 1, comparing two decimal strings */
export function compareAmounts (a: string, b: string): number {
  const x = scaled(a)
  const y = scaled(b)
  const scale = Math.max(x.scale, y.scale)
  const d = rescale(x, scale) - rescale(y, scale)
  return d < 0n ? -1 : d > 0n ? 1 : 0
}
