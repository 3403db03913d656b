// What a caught value says about itself. A `catch` receives `unknown`: a thrown Error, a libp2p or
// Node error with a `code`, or anything at all; these read it without assuming which.

/** the value's `message` when it has one, else its string form */
export function errorMessage (err: unknown): string {
  if (err instanceof Error) return err.message
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message
  try {
    return String(err)
  } catch {
    // an object without a prototype has no toString
    return Object.prototype.toString.call(err)
  }
}

/** the value's string `code` (`ERR_…`, `ENOENT`, …), if it carries one */
export function errorCode (err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

/** the value's `name` (`AbortError`, `TimeoutError`, …), if it has one */
export function errorName (err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const name = (err as { name?: unknown }).name
  return typeof name === 'string' ? name : undefined
}

/** one field of a caught object, read without trusting its type */
export function errorField (err: unknown, field: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[field] : undefined
}
