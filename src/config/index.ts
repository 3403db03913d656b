export { loadConfig, resolveConfig, defaultConfig, envName, ROLES, CONFIG_FILE } from './config.ts'
export type { SoukConfig, Role, LoadConfigOptions } from './config.ts'
export { configTemplate } from './template.ts'
export { ConfigError } from './errors.ts'
