export interface JsonOptions {
  /** print as JSON */
  json?: boolean
}

export interface InitOptions extends JsonOptions {
  /** key files of validators that sign now */
  key?: string[]
  /** public keys (hex) of validators that sign later */
  pubkey?: string[]
  /** committee time of the first batch, ms since 1970 */
  genesisTime?: string
  /** where to write the file */
  out: string
}

export interface SignOptions {
  /** the validator's key file */
  key: string
}

export interface VerifyOptions extends JsonOptions {
  /** committee chain to check a lease certificate against */
  committee?: string
}
