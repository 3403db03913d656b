export interface JsonOptions {
  /** print as JSON */
  json?: boolean
}

export interface KeyWriteOptions extends JsonOptions {
  /** replace an existing key */
  force?: boolean
}
