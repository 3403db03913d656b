export * from './protocols/manifest.ts'
export * from './protocols/manifest-reading.ts'
