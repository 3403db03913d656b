import { buildCommittee, signCommitteeFile, addFileSignature, committeeFileToJson } from '../committee/index.ts'
import type { CommitteeFile } from '../committee/index.ts'
import type { Identity } from '../identity/index.ts'

/** A genesis committee file signed by every one of its validators (a fresh devnet or test network). */
export function genesisCommittee (validators: Identity[], genesisTime = Date.now()): CommitteeFile {
  const info = buildCommittee({ epoch: 0, startHeight: 1, genesisTime, validators: validators.map((v) => v.publicKey) })
  let file: CommitteeFile = { info, signatures: [] }
  for (const v of validators) file = addFileSignature(file, signCommitteeFile(info, v))
  return file
}

export function committeeJson (files: CommitteeFile[]): string {
  return JSON.stringify(files.length === 1 ? committeeFileToJson(files[0]) : files.map(committeeFileToJson), null, 2) + '\n'
}
