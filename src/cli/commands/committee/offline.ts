// The committee file and lease certificates, read and signed without a running node.
import { readFile, writeFile } from 'node:fs/promises'
import { decodeKeyFile } from '../../../identity/index.ts'
import type { Identity } from '../../../identity/index.ts'
import {
  genesisCommitteeFile, signCommitteeFile, addFileSignature, committeeFileToJson, parseCommitteeFiles, verifyCommitteeChain,
  countFileSignatures, verifyLeaseCertificate, parseLeaseCertificate, CommitteeError
} from '../../../committee/index.ts'
import type { CommitteeFile } from '../../../committee/index.ts'
import { errorMessage } from '../../../util/index.ts'
import { print, printJson, CliError } from '../../output.ts'
import type { InitOptions, SignOptions, VerifyOptions } from './options.ts'

const HEX64 = /^[0-9a-f]{64}$/i

async function readKeys (files: string[]): Promise<Identity[]> {
  return await Promise.all(files.map(async (f) => decodeKeyFile(await readFile(f, 'utf8'), f)))
}

export interface VerifyReport {
  kind: 'committee' | 'lease-certificate'
  ok: boolean
  epochs?: number[]
  validators?: number
  threshold?: number
  signatures?: number
  reason?: string
}

/** Checks a committee file chain, or a lease certificate against a chain. Offline. */
export function verifyFileOffline (data: Uint8Array, committeeText?: string): VerifyReport {
  const text = Buffer.from(data).toString('utf8').trim()
  const looksCommittee = text.startsWith('[') || (text.startsWith('{') && text.includes('"souk-committee/1"'))
  if (looksCommittee) {
    const files = parseCommitteeFiles(text)
    try {
      const last = verifyCommitteeChain(files)
      return { kind: 'committee', ok: true, epochs: files.map((f) => f.info.epoch), validators: last.info.validators.length, threshold: last.info.threshold, signatures: countFileSignatures(files[0], files[0].info) }
    } catch (err) {
      return { kind: 'committee', ok: false, epochs: files.map((f) => f.info.epoch), reason: errorMessage(err) }
    }
  }
  const cert = parseLeaseCertificate(data)
  if (committeeText == null) throw new CliError('a lease certificate is checked against the committee: pass --committee FILE')
  const files = parseCommitteeFiles(committeeText, 'the --committee file')
  try {
    verifyCommitteeChain(files)
  } catch (err) {
    return { kind: 'lease-certificate', ok: false, reason: `committee chain: ${errorMessage(err)}` }
  }
  const file = files.find((f) => f.info.epoch === cert.epoch)
  if (file == null) return { kind: 'lease-certificate', ok: false, reason: `the committee chain has no epoch ${cert.epoch}` }
  // against the chain: a certificate of an epoch at or past the next epoch's start is refused
  const v = verifyLeaseCertificate(cert, files)
  return { kind: 'lease-certificate', ok: v.ok, reason: v.reason, signatures: cert.signatures.length, threshold: file.info.threshold }
}

export async function committeeInit (opts: InitOptions): Promise<void> {
  const signers = await readKeys(opts.key ?? [])
  const pubkeys = (opts.pubkey ?? []).map((h, i) => {
    if (!HEX64.test(h)) throw new CliError(`--pubkey[${i}]: must be 64 hex digits (a 32-byte ed25519 public key)`)
    return new Uint8Array(Buffer.from(h, 'hex'))
  })
  if (signers.length + pubkeys.length === 0) throw new CliError('name the validators with --key FILE and/or --pubkey HEX')
  const time = opts.genesisTime != null ? Number(opts.genesisTime) : Date.now()
  if (!Number.isSafeInteger(time) || time < 0) throw new CliError('--genesis-time: must be whole milliseconds since 1970')
  let file: CommitteeFile
  try {
    file = genesisCommitteeFile(signers, pubkeys, time)
  } catch (err) {
    if (err instanceof CommitteeError) throw new CliError(err.message)
    throw err
  }
  await writeFile(opts.out, JSON.stringify(committeeFileToJson(file), null, 2) + '\n')
  const missing = Math.max(0, file.info.threshold - file.signatures.length)
  if (opts.json === true) { printJson({ file: opts.out, chain: file.info.chain, validators: file.info.validators.length, threshold: file.info.threshold, signatures: file.signatures.length }); return }
  print(`wrote ${opts.out}: ${file.info.validators.length} validators, threshold ${file.info.threshold}, ${file.signatures.length} signatures`)
  print(`chain ${Buffer.from(file.info.chain).toString('hex')}`)
  if (missing > 0) print(`${missing} more signature(s) needed: each validator runs \`souk committee sign ${opts.out} --key <its key file>\``)
}

export async function committeeSign (path: string, opts: SignOptions): Promise<void> {
  const [id] = await readKeys([opts.key])
  const files = parseCommitteeFiles(await readFile(path, 'utf8'), path)
  if (files.length !== 1) throw new CliError(`${path} holds ${files.length} files; sign one at a time`)
  const f = files[0]
  if (!f.info.index.has(Buffer.from(id.publicKey).toString('hex')) && f.info.epoch === 0) throw new CliError('this key is not one of the genesis validators')
  const next = addFileSignature(f, signCommitteeFile(f.info, id))
  await writeFile(path, JSON.stringify(committeeFileToJson(next), null, 2) + '\n')
  print(`${path}: ${next.signatures.length} signatures`)
}

export async function committeeVerify (path: string, opts: VerifyOptions): Promise<void> {
  let report: VerifyReport
  try {
    report = verifyFileOffline(new Uint8Array(await readFile(path)), opts.committee != null ? await readFile(opts.committee, 'utf8') : undefined)
  } catch (err) {
    if (err instanceof CommitteeError) throw new CliError(`${path}: ${err.message}`)
    throw err
  }
  if (opts.json === true) printJson(report)
  else if (report.ok) print(report.kind === 'committee' ? `ok: committee epochs ${report.epochs?.join(', ')}; ${report.validators} validators, threshold ${report.threshold}` : `ok: lease certificate with ${report.signatures} signatures (threshold ${report.threshold})`)
  else print(`INVALID ${report.kind}: ${report.reason}`)
  if (!report.ok) process.exitCode = 1
}
