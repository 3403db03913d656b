export interface ValidateOptions {
  /** print a JSON array of reports */
  json?: boolean
}
