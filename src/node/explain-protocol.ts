export * from '../net/protocols/explain.ts'
