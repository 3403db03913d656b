export { errorMessage, errorCode, errorName, errorField } from './errors.ts'
export type { LevelLogger, LogFn } from './logger.ts'
export { logThrottle } from './log-throttle.ts'
export type { LogThrottle, LogThrottleInit } from './log-throttle.ts'
