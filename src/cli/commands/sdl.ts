// `souk sdl validate FILE...`: load deployment files and say what they ask for, or what is wrong.
import type { Command } from 'commander'
import { loadSdlFile, formatTotals, SdlError, SdlLimitError, SdlParseError, SdlValidationError } from '../../sdl/index.ts'
import type { ResourceGroup, ResourceTotals, SdlIssue, SdlNotice } from '../../sdl/index.ts'
import { print, printJson } from '../output.ts'

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
  } catch (err: any) {
    const fail = (errors: SdlIssue[], notices: SdlNotice[] = []): SdlFileReport => ({ file, ok: false, totals: null, groups: null, manifestHash: null, notices, errors })
    if (err instanceof SdlValidationError) return fail(err.errors, err.notices)
    if (err instanceof SdlParseError) return fail(err.errors.map((e) => ({ path: `line ${e.line}, column ${e.column}`, message: e.message })))
    if (err instanceof SdlLimitError) return fail([{ path: err.path != null && err.path !== '' ? err.path : '(file)', message: err.path != null && err.path !== '' ? err.message.slice(err.path.length + 2) : err.message }])
    if (err instanceof SdlError) return fail([{ path: '(file)', message: err.message }])
    if (typeof err?.code === 'string' && typeof err?.syscall === 'string') return fail([{ path: '(file)', message: `cannot read: ${err.code}` }])
    throw err
  }
}

function issueLine (i: { path: string, message: string }): string {
  return i.path === '' ? `  ${i.message}` : `  ${i.path}: ${i.message}`
}

export function sdlCommand (program: Command): void {
  const sdl = program.command('sdl').description('Akash SDL deployment files')
  sdl.command('validate')
    .description('load and validate deployment files; print what each asks for, or every error with its path')
    .argument('<file...>', 'SDL files (YAML)')
    .option('--json', 'print a JSON array of {file, ok, totals, groups, manifestHash, notices, errors}')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const reports: SdlFileReport[] = []
      for (const file of files) reports.push(await checkSdlFile(file))
      if (opts.json === true) printJson(reports)
      else {
        for (const r of reports) {
          if (r.ok && r.totals != null) {
            print(`ok   ${r.file}  ${formatTotals(r.totals)}`)
            for (const n of r.notices) print(issueLine(n))
          } else {
            print(`FAIL ${r.file}`)
            for (const e of r.errors) print(issueLine(e))
          }
        }
      }
      process.exitCode = reports.every((r) => r.ok) ? 0 : 1
    })
}
