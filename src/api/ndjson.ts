// Newline-delimited JSON over a byte stream. Chunks may split a line, or a UTF-8 character, anywhere.
export const MAX_NDJSON_LINE = 1024 * 1024

export async function * ndjsonLines<T = unknown> (source: AsyncIterable<unknown>, maxLine = MAX_NDJSON_LINE): AsyncGenerator<T> {
  const decoder = new TextDecoder()
  let buf = ''
  for await (const chunk of source) {
    buf += typeof chunk === 'string' ? chunk : decoder.decode(chunk as Uint8Array, { stream: true })
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line.trim() !== '') yield JSON.parse(line) as T
    }
    if (buf.length > maxLine) throw new RangeError(`an NDJSON line longer than ${maxLine} characters`)
  }
  buf += decoder.decode()
  if (buf.trim() !== '') yield JSON.parse(buf) as T
}
