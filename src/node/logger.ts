// Structured JSON logs (pino); human-readable lines when writing to a terminal. The daemon may
// also write them to a rotating file in its home (log.file in souk.yaml).
import { pino } from 'pino'
import type { Logger as PinoLogger } from 'pino'
import { rotatingFile } from './log-file.ts'
import type { RotatingFile } from './log-file.ts'

export type Logger = Pick<PinoLogger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'child'>

export interface LogOutput {
  /** file to append to, rotated by size */
  file?: string
  maxBytes?: number
  keep?: number
  /** also write to standard error (default true) */
  stderr?: boolean
}

let defaultOutput: { file?: RotatingFile, stderr: boolean } | undefined

/**
 * Where loggers created without a destination write from now on: the daemon's command sets it
 * from souk.yaml before the node starts. Returns a function that closes the file.
 */
export function setLogOutput (out: LogOutput): () => void {
  const file = out.file != null && out.file !== '' ? rotatingFile({ path: out.file, maxBytes: out.maxBytes, keep: out.keep }) : undefined
  defaultOutput = { file, stderr: out.stderr !== false }
  return () => { if (defaultOutput?.file === file) defaultOutput = undefined; file?.end() }
}

/** a readable line per record on a terminal, without a pretty-printing dependency */
function prettyLine (line: string): string {
  try {
    const r = JSON.parse(line)
    const { level, time, msg, name, ...rest } = r
    const lvl = pino.levels.labels[level] ?? level
    const extra = Object.keys(rest).length > 0 ? ' ' + JSON.stringify(rest) : ''
    return `${new Date(time).toISOString().slice(11, 23)} ${String(lvl).padEnd(5)} ${name != null ? `[${name}] ` : ''}${msg ?? ''}${extra}\n`
  } catch { return line }
}

export function createLogger (opts: { level?: string, name?: string, destination?: NodeJS.WritableStream } = {}): Logger {
  const base = { level: opts.level ?? 'info', name: opts.name, base: undefined }
  const out = opts.destination == null ? defaultOutput : undefined
  const dest = opts.destination ?? process.stderr
  const pretty = 'isTTY' in dest && dest.isTTY === true
  if (out?.file != null) {
    const file = out.file
    const toStderr = out.stderr
    return pino(base, {
      write (line: string) {
        file.write(line)
        if (toStderr) dest.write(pretty ? prettyLine(line) : line)
      }
    })
  }
  if (!pretty) return pino(base, dest)
  return pino(base, { write (line: string) { dest.write(prettyLine(line)) } })
}
