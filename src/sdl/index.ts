// Akash SDL v2.0 / v2.1 deployment files: loading, validation, resource totals and the
// canonical manifest hash. See docs/sdl.md.
export type * from './types.ts'
export { loadSdl, loadSdlFile } from './load.ts'
export type { LoadSdlOptions } from './load.ts'
export { parseCpu, parseSize, formatCpu, formatSize, SIZE_UNITS } from './units.ts'
export { formatTotals } from './format.ts'
export { canonicalJson, canonicalManifestBytes, manifestHash } from './canonical.ts'
export { DEFAULT_LIMITS, SDL_VERSIONS } from './constants.ts'
export type { SdlLimits } from './constants.ts'
export { SdlError, SdlErrorCode, SdlParseError, SdlValidationError, SdlLimitError, SdlUnitError, CanonicalJsonError } from './errors.ts'
export type { SdlIssue, SdlLimitName } from './errors.ts'
