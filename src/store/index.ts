export { openStore } from './store.ts'
export type { Store, StoreInit, Migration } from './store.ts'
export { StoreError, StoreErrorCode } from './errors.ts'
export { MIGRATIONS_TABLE } from './constants.ts'
