// `souk sdl validate FILE...`: load deployment files and say what they ask for, or what is wrong.
import { formatTotals } from '../../../sdl/index.ts'
import { print, printJson } from '../../output.ts'
import { checkSdlFile } from '../../sdl-check.ts'
import type { SdlFileReport } from '../../sdl-check.ts'
import type { ValidateOptions } from './options.ts'

function issueLine (i: { path: string, message: string }): string {
  return i.path === '' ? `  ${i.message}` : `  ${i.path}: ${i.message}`
}

export async function sdlValidate (files: string[], opts: ValidateOptions): Promise<void> {
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
}
