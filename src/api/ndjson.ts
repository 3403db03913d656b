// Newline-delimited JSON over a byte stream. Chunks may split a line, or a UTF-8 character, anywhere.
// A line that is not JSON, or longer than the limit, is an ApiError (ERR_BAD_REQUEST).
import { ApiError, ApiErrorCode } from './errors.ts'

export const MAX_NDJSON_LINE = 1024 * 1024

/** one NDJSON line's value, or an ApiError */
export function parseNdjsonLine<T = unknown> (line: string): T {
  try {
    return JSON.parse(line) as T
  } catch {
    throw new ApiError(ApiErrorCode.BAD_REQUEST, `an NDJSON line is not valid JSON: ${JSON.stringify(line.slice(0, 64))}`)
  }
}

export async function * ndjsonLines<T = unknown> (source: AsyncIterable<unknown>, maxLine = MAX_NDJSON_LINE): AsyncGenerator<T> {
  const decoder = new TextDecoder()
  let buf = ''
  for await (const chunk of source) {
    buf += typeof chunk === 'string' ? chunk : decoder.decode(chunk as Uint8Array, { stream: true })
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line.trim() !== '') yield parseNdjsonLine<T>(line)
    }
    if (buf.length > maxLine) throw new ApiError(ApiErrorCode.TOO_LARGE, `an NDJSON line longer than ${maxLine} characters`, 413)
  }
  buf += decoder.decode()
  if (buf.trim() !== '') yield parseNdjsonLine<T>(buf)
}
