export interface JsonOptions {
  /** print as JSON */
  json?: boolean
}
