export { errorMessage, errorCode, errorName, errorField } from './errors.ts'
export type { LevelLogger, LogFn } from './logger.ts'
