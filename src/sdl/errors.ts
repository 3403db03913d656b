import type { SdlNotice } from './types.ts'

export const SdlErrorCode = {
  /** the text is not YAML (syntax); carries line and column */
  PARSE: 'ERR_SDL_PARSE',
  /** the YAML is fine but the deployment is not; carries every problem found */
  INVALID: 'ERR_SDL_INVALID',
  /** the file crosses a size, alias, nesting or node-count limit */
  LIMIT: 'ERR_SDL_LIMIT',
  /** a cpu or size value that does not parse */
  UNIT: 'ERR_SDL_UNIT',
  /** a value cannot be encoded canonically (not a safe integer, not plain data) */
  CANONICAL: 'ERR_SDL_CANONICAL'
} as const
export type SdlErrorCode = typeof SdlErrorCode[keyof typeof SdlErrorCode]

/** One problem, named by its path in the file (`services.web.expose[0].port`). */
export interface SdlIssue {
  path: string
  message: string
}

export class SdlError extends Error {
  readonly code: SdlErrorCode
  constructor (code: SdlErrorCode, message: string) {
    super(message)
    this.name = 'SdlError'
    this.code = code
  }
}

/** A YAML syntax error. `line` and `column` are 1-based and point at the first error. */
export class SdlParseError extends SdlError {
  readonly line: number
  readonly column: number
  /** every syntax error the parser reported, first one first */
  readonly errors: Array<{ line: number, column: number, message: string }>
  constructor (errors: Array<{ line: number, column: number, message: string }>) {
    const first = errors[0] ?? { line: 1, column: 1, message: 'unreadable YAML' }
    super(SdlErrorCode.PARSE, `YAML syntax error at line ${first.line}, column ${first.column}: ${first.message}`)
    this.name = 'SdlParseError'
    this.line = first.line
    this.column = first.column
    this.errors = errors
  }
}

/** Every problem of one file, each naming its path. `notices` are those found on the way. */
export class SdlValidationError extends SdlError {
  readonly errors: SdlIssue[]
  readonly notices: SdlNotice[]
  constructor (errors: SdlIssue[], notices: SdlNotice[] = []) {
    const head = errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ')
    const more = errors.length > 3 ? `; and ${errors.length - 3} more` : ''
    super(SdlErrorCode.INVALID, `invalid deployment file (${errors.length} error${errors.length === 1 ? '' : 's'}): ${head}${more}`)
    this.name = 'SdlValidationError'
    this.errors = errors
    this.notices = notices
  }
}

export type SdlLimitName = 'bytes' | 'aliases' | 'nodes' | 'depth' | 'string'

/** The file crossed a hard limit; reading stopped there. */
export class SdlLimitError extends SdlError {
  readonly limit: SdlLimitName
  readonly max: number
  readonly path?: string
  constructor (limit: SdlLimitName, max: number, message: string, path?: string) {
    super(SdlErrorCode.LIMIT, path != null && path !== '' ? `${path}: ${message}` : message)
    this.name = 'SdlLimitError'
    this.limit = limit
    this.max = max
    this.path = path
  }
}

export class CanonicalJsonError extends SdlError {
  readonly path: string
  constructor (path: string, message: string) {
    super(SdlErrorCode.CANONICAL, `${path === '' ? '(root)' : path}: ${message}`)
    this.name = 'CanonicalJsonError'
    this.path = path
  }
}

/** A cpu amount or byte size that does not parse; the message says what was expected. */
export class SdlUnitError extends SdlError {
  readonly value: unknown
  constructor (value: unknown, message: string) {
    super(SdlErrorCode.UNIT, message)
    this.name = 'SdlUnitError'
    this.value = value
  }
}
