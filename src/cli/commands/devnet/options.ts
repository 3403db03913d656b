/** where the node homes go, unless --dir says */
export const DEFAULT_DIR = './.souk-devnet'

export interface DirOptions {
  /** the devnet directory */
  dir: string
}

export interface JsonDirOptions extends DirOptions {
  /** print as JSON */
  json?: boolean
}

export interface UpOptions extends JsonDirOptions {
  /** committee size (3f+1) */
  validators: string
  providers: string
  /** each node in a network namespace of its own */
  netns?: boolean
  /** emulated wide-area profile: lan, continents or lossy */
  wan?: string
  /** seed of the emulated links */
  wanSeed: string
  /** the last provider behind a NAT router, reached through a relay */
  nat?: boolean
}
