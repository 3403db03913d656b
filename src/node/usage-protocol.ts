export * from '../net/protocols/usage.ts'
