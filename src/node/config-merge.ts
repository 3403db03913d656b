// createNode({ config }) takes any part of the configuration: what is given is laid over the
// defaults and the result is checked exactly as souk.yaml is (resolveConfig), so a typo fails
// with a ConfigError naming its path instead of starting a node that quietly lacks a role.
import { resolveConfig } from '../config/index.ts'
import type { SoukConfig } from '../config/index.ts'

/** Any part of a value: objects' keys optional at every depth; lists and scalars whole. */
export type DeepPartial<T> = T extends ReadonlyArray<infer _U>
  ? T
  : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T

/** The configuration `createNode` accepts: any part of SoukConfig. */
export type SoukConfigInput = DeepPartial<SoukConfig>

/**
 * Defaults, then `input` (deep: maps merge, lists replace), checked; a ConfigError lists every
 * wrong path. SOUK_* environment variables are not read here: a program says what it wants.
 * A program's numbers are SoukConfig's own units (millicpu, bytes), not souk.yaml's CPUs; an
 * embedded node listens on a free loopback port unless told.
 */
export function mergeConfig (input: SoukConfigInput = {}, source = 'createNode({ config })'): SoukConfig {
  return resolveConfig(input, { env: {}, source, embedded: true })
}
