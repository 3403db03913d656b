// Structured JSON logs (pino); human-readable lines when writing to a terminal.
import { pino } from 'pino'
import type { Logger as PinoLogger } from 'pino'

export type Logger = Pick<PinoLogger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'child'>

export function createLogger (opts: { level?: string, name?: string, destination?: NodeJS.WritableStream } = {}): Logger {
  const dest = opts.destination ?? process.stderr
  const pretty = (dest as any).isTTY === true
  if (!pretty) return pino({ level: opts.level ?? 'info', name: opts.name, base: undefined }, dest as any)
  // a readable line per record on a terminal, without a pretty-printing dependency
  const stream = {
    write (line: string) {
      try {
        const r = JSON.parse(line)
        const { level, time, msg, name, ...rest } = r
        const lvl = pino.levels.labels[level] ?? level
        const extra = Object.keys(rest).length > 0 ? ' ' + JSON.stringify(rest) : ''
        dest.write(`${new Date(time).toISOString().slice(11, 23)} ${String(lvl).padEnd(5)} ${name != null ? `[${name}] ` : ''}${msg ?? ''}${extra}\n`)
      } catch { dest.write(line) }
    }
  }
  return pino({ level: opts.level ?? 'info', name: opts.name, base: undefined }, stream)
}
