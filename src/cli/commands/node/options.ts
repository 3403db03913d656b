export interface JsonOptions {
  /** print as JSON */
  json?: boolean
}

export interface InitOptions extends JsonOptions {
  /** comma-separated roles */
  role: string
  /** overwrite an existing souk.yaml */
  force?: boolean
}

export interface SetOptions {
  /** overrides of souk.yaml settings, `path=value` */
  set?: string[]
}

export interface ReloadOptions extends SetOptions, JsonOptions {}

export interface InstallServiceOptions {
  user?: string
  name: string
  output?: string
  souk?: string
  node?: string
  dockerHost?: string
}
