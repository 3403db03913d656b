export * from '../net/protocols/committee.ts'
