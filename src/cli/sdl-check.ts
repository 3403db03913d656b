// A deployment file checked without throwing: `souk sdl validate` prints the report, deploy and
// lease update refuse a file that fails it before asking the daemon.
import { loadSdlFile, SdlError, SdlLimitError, SdlParseError, SdlValidationError } from '../sdl/index.ts'
import type { ResourceGroup, ResourceTotals, SdlIssue, SdlNotice } from '../sdl/index.ts'
import { errorCode, errorField } from '../util/index.ts'

export interface SdlFileReport {
  file: string
  ok: boolean
  totals: ResourceTotals | null
  groups: ResourceGroup[] | null
  manifestHash: string | null
  notices: SdlNotice[]
  errors: SdlIssue[]
}

/** Load one file into a report; never throws for a bad file. */
export async function checkSdlFile (file: string): Promise<SdlFileReport> {
  try {
    const r = await loadSdlFile(file)
    return { file, ok: true, totals: r.totals, groups: r.groups, manifestHash: r.manifestHash, notices: r.notices, errors: [] }
  } catch (err) {
    const fail = (errors: SdlIssue[], notices: SdlNotice[] = []): SdlFileReport => ({ file, ok: false, totals: null, groups: null, manifestHash: null, notices, errors })
    if (err instanceof SdlValidationError) return fail(err.errors, err.notices)
    if (err instanceof SdlParseError) return fail(err.errors.map((e) => ({ path: `line ${e.line}, column ${e.column}`, message: e.message })))
    if (err instanceof SdlLimitError) return fail([{ path: err.path != null && err.path !== '' ? err.path : '(file)', message: err.path != null && err.path !== '' ? err.message.slice(err.path.length + 2) : err.message }])
    if (err instanceof SdlError) return fail([{ path: '(file)', message: err.message }])
    // a file system error (ENOENT, EACCES, …): it names a code and the call that failed
    const code = errorCode(err)
    if (code != null && typeof errorField(err, 'syscall') === 'string') return fail([{ path: '(file)', message: `cannot read: ${code}` }])
    throw err
  }
}

/** the lines that say why a file is not a valid deployment file */
export function sdlErrorLines (report: SdlFileReport): string {
  return report.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')
}
