// What a layer below the node logs through: pino's shape, fields first, then the message, so a
// node hands in its own scoped logger and a test a capturing one.

export type LogFn = (fields: Record<string, unknown>, msg: string) => void

export interface LevelLogger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
}
