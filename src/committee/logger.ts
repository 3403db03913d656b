// What the committee logs through. Safety-relevant events (a refusal to sign, conflicting votes,
// a member's bad batch or frame) are warnings, decided heights and epochs are info, and the
// round-by-round detail is debug. The shape is pino's `(fields, message)`, so a node hands in its
// own scoped logger; a bare line callback (the simulator, benchmarks) still receives every line.

import type { LevelLogger, LogFn } from '../util/index.ts'

export type CommitteeLogFn = LogFn
export type CommitteeLogger = LevelLogger

/** a line callback: one line a message, whatever its level */
export type CommitteeLogLine = (line: string) => void

const ignore: CommitteeLogFn = () => {}

export const silentLogger: CommitteeLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore }

/** the logger given, a line callback lifted to every level, or nothing logged */
export function committeeLogger (given: CommitteeLogger | CommitteeLogLine | undefined): CommitteeLogger {
  if (given == null) return silentLogger
  if (typeof given !== 'function') return given
  const line: CommitteeLogFn = (_fields, msg) => { given(msg) }
  return { debug: line, info: line, warn: line, error: line }
}
