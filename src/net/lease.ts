export * from './protocols/lease.ts'
