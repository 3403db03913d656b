export interface JsonOptions {
  /** print as JSON (JSON lines for streams) */
  json?: boolean
}

export interface LogsOptions extends JsonOptions {
  follow?: boolean
  /** lines per replica from the end */
  tail?: string
  /** one service only */
  service?: string
}

export interface EventsOptions extends JsonOptions {
  follow?: boolean
}

export interface ShellOptions {
  /** which service (default: the first) */
  service?: string
}

export interface CloseOptions extends JsonOptions {
  /** told to the provider */
  reason: string
}
