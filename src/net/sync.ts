export * from './protocols/sync.ts'
