// The library's front door: `import { … } from 'souk'`.
export * from './wire/index.ts'
export * from './identity/index.ts'
// the SDL's Price has the wire's shape; the wire's name is the exported one
export type { StorageSpec, GpuSpec, ComputeResources, HttpOptions, ExposeTo, Expose, ServiceVolumeParams, ServiceCredentials, ServiceManifest, GroupManifest, Manifest, ResourceGroup, ResourceTotals, SdlNotice, LoadedSdl } from './sdl/types.ts'
export { loadSdl, loadSdlFile, parseCpu, parseSize, formatCpu, formatSize, SIZE_UNITS, formatTotals, canonicalJson, canonicalManifestBytes, manifestHash, DEFAULT_LIMITS, SDL_VERSIONS, SdlError, SdlErrorCode, SdlParseError, SdlValidationError, SdlLimitError, SdlUnitError, CanonicalJsonError } from './sdl/index.ts'
export type { LoadSdlOptions, SdlLimits, SdlIssue, SdlLimitName } from './sdl/index.ts'
export * from './market/index.ts'
export * from './runtime/index.ts'
