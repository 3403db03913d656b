// Logs to a file in the node home, rotated by size: node.log, then node.log.1 … node.log.N,
// oldest dropped. Under systemd the journal keeps the logs instead (souk node install-service).
import { openSync, writeSync, closeSync, renameSync, rmSync, fstatSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { Writable } from 'node:stream'
import { errorMessage } from '../util/index.ts'

export interface RotatingFileInit {
  path: string
  /** rotate when the file would grow past this; default 10 MiB */
  maxBytes?: number
  /** rotated files kept; default 5 */
  keep?: number
}

export interface RotatingFile extends Writable {
  readonly path: string
  /** rotate now (also what a size past maxBytes does) */
  rotate: () => void
}

/**
 * A stream that appends to `path` synchronously (a log line is never lost to a crash right
 * after it was written) and rotates at `maxBytes`.
 */
export function rotatingFile (init: RotatingFileInit): RotatingFile {
  const maxBytes = init.maxBytes ?? 10 * 1024 * 1024
  const keep = Math.max(0, init.keep ?? 5)
  mkdirSync(dirname(init.path), { recursive: true })
  let fd = openSync(init.path, 'a', 0o600)
  let size = fstatSync(fd).size
  const rotate = (): void => {
    closeSync(fd)
    if (keep === 0) rmSync(init.path, { force: true })
    else {
      rmSync(`${init.path}.${keep}`, { force: true })
      for (let i = keep - 1; i >= 1; i--) { try { renameSync(`${init.path}.${i}`, `${init.path}.${i + 1}`) } catch {} }
      renameSync(init.path, `${init.path}.1`)
    }
    fd = openSync(init.path, 'a', 0o600)
    size = 0
  }
  const stream = new Writable({
    write (chunk: Buffer | string, _enc, cb) {
      try {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
        if (size > 0 && size + buf.length > maxBytes) rotate()
        writeSync(fd, buf)
        size += buf.length
        cb()
      } catch (err) { cb(err instanceof Error ? err : new Error(errorMessage(err))) }
    },
    final (cb) { try { closeSync(fd) } catch {} cb() }
  }) as RotatingFile
  Object.defineProperty(stream, 'path', { value: init.path })
  stream.rotate = rotate
  return stream
}
