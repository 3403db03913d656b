export * from './protocols/time.ts'
