// One fuzz input, start to end: which target and input number `index` of a run seeded `seed`
// gets (a function of those two numbers alone), and how its decoder answered.
import { Rng } from './mutate.ts'
import type { Target } from './targets.ts'

export type Outcome = 'value' | 'typed' | 'untyped' | 'crash' | 'hang'
/** the fuzzer's own failure to make an input (a bug here, not in a decoder) */
export const GENERATOR = 'generator'

export interface Finding {
  kind: 'untyped' | 'crash' | 'hang'
  target: string
  seed: number
  index: number
  /** lowercase hex for bytes, the text itself for text targets */
  input: string
  message: string
}

const PLAIN_ERRORS = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'URIError', 'EvalError', 'AggregateError'])

/** A typed error: an Error of souk's own classes, with an ERR_* code (protocols/wire.md §6 and the folders' errors.ts). */
export function isTypedError (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && code.startsWith('ERR_') && !PLAIN_ERRORS.has(err.constructor.name)
}

/** errors that mean the decoder itself broke, whatever their class */
function isCrash (err: unknown): boolean {
  return err instanceof RangeError && /call stack|Invalid array length|Array buffer allocation|Invalid typed array length/i.test(err.message)
}

export function pick (targets: readonly Target[], seed: number, index: number): { target: Target, input: Uint8Array | string, generatorError?: string } {
  const rng = new Rng(seed, index)
  const total = targets.reduce((s, t) => s + t.weight, 0)
  let r = rng.int(total)
  let target = targets[0]
  for (const t of targets) {
    if (r < t.weight) { target = t; break }
    r -= t.weight
  }
  try {
    return { target, input: target.input(rng) }
  } catch (err: any) {
    return { target, input: new Uint8Array(0), generatorError: String(err?.stack ?? err) }
  }
}

export function show (input: Uint8Array | string): string {
  return typeof input === 'string' ? input : Buffer.from(input).toString('hex')
}

export interface RunResult { outcome: Outcome, message?: string, ms: number }

export function runInput (target: Target, input: Uint8Array | string): RunResult {
  const start = performance.now()
  let outcome: Outcome
  let message: string | undefined
  try {
    const v = target.run(input)
    if (v instanceof Promise) {
      v.catch(() => {})
      outcome = 'untyped'
      message = 'the decoder returned a promise'
    } else {
      outcome = 'value'
    }
  } catch (err: any) {
    if (isCrash(err)) { outcome = 'crash'; message = `${String(err?.name)}: ${String(err?.message)}` } else if (isTypedError(err)) outcome = 'typed'
    else { outcome = 'untyped'; message = `${String(err?.constructor?.name ?? typeof err)}: ${String(err?.message ?? err)}\n${String(err?.stack ?? '').split('\n').slice(1, 6).join('\n')}` }
  }
  const ms = performance.now() - start
  if (ms > target.boundMs && outcome !== 'crash' && outcome !== 'untyped') return { outcome: 'hang', message: `took ${Math.round(ms)} ms (bound ${target.boundMs} ms)`, ms }
  return { outcome, message, ms }
}
