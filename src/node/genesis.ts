import { committeeFileToJson } from '../committee/index.ts'
import type { CommitteeFile } from '../committee/index.ts'

export function committeeJson (files: CommitteeFile[]): string {
  return JSON.stringify(files.length === 1 ? committeeFileToJson(files[0]) : files.map(committeeFileToJson), null, 2) + '\n'
}
