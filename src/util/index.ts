export { errorMessage, errorCode, errorName, errorField } from './errors.ts'
