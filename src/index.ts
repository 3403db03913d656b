// The library's front door: `import { … } from 'souk'`.
export * from './wire/index.ts'
export * from './identity/index.ts'
