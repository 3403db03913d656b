import { readFile, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { decodeKeyFile } from '../../identity/index.ts'
import type { Identity } from '../../identity/index.ts'
import {
  genesisCommitteeFile, signCommitteeFile, addFileSignature, committeeFileToJson, parseCommitteeFiles, verifyCommitteeChain,
  countFileSignatures, verifyLeaseCertificate, parseLeaseCertificate, CommitteeError
} from '../../committee/index.ts'
import type { CommitteeFile } from '../../committee/index.ts'
import { print, printJson, CliError } from '../output.ts'
import { client } from './node.ts'
import { peerIdOfPublicKey } from '../../identity/index.ts'

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
    } catch (err: any) {
      return { kind: 'committee', ok: false, epochs: files.map((f) => f.info.epoch), reason: String(err?.message ?? err) }
    }
  }
  const cert = parseLeaseCertificate(data)
  if (committeeText == null) throw new CliError('a lease certificate is checked against the committee: pass --committee FILE')
  const files = parseCommitteeFiles(committeeText, 'the --committee file')
  try {
    verifyCommitteeChain(files)
  } catch (err: any) {
    return { kind: 'lease-certificate', ok: false, reason: `committee chain: ${String(err?.message ?? err)}` }
  }
  const file = files.find((f) => f.info.epoch === cert.epoch)
  if (file == null) return { kind: 'lease-certificate', ok: false, reason: `the committee chain has no epoch ${cert.epoch}` }
  // against the chain: a certificate of an epoch at or past the next epoch's start is refused
  const v = verifyLeaseCertificate(cert, files)
  return { kind: 'lease-certificate', ok: v.ok, reason: v.reason, signatures: cert.signatures.length, threshold: file.info.threshold }
}

/** What `committee status` prints, from the answer of GET /v1/committee (bytes arrive as hex). */
export function committeeStatusLines (r: any): string[] {
  const st = r.status
  const out: string[] = []
  const last = r.files[r.files.length - 1]
  if (st == null) {
    return [`this node is not a validator; committee epoch ${last.epoch}, ${last.validators.length} validators, threshold ${last.threshold}`]
  }
  const name = (k: string): string => peerIdOfPublicKey(Buffer.from(k, 'hex'))
  out.push(`epoch       ${st.epoch}${st.validator ? '' : ' (this node is not a member)'}`)
  out.push(`height      ${st.height}  ${st.idle === true ? 'idle: nothing to order; the next batch starts when work arrives' : `round ${st.round}  step ${st.step}`}`)
  out.push(`leader      ${name(st.leader)}`)
  out.push(`pool        ${st.pool} items, ${st.openOrders} open orders`)
  out.push(`signatures  ${st.verified} checked, ${st.verifyAdopted ?? 0} taken from gossip, ${st.verifyCacheHits} seen before, ${st.rejected} refused, ${st.shed ?? 0} late bids not checked`)
  out.push(`evidence    ${st.evidence}`)
  for (const m of st.members) {
    const p = st.peers.find((x: any) => x.peer === name(m))
    const state = p == null ? '' : p.behind > 0 ? `behind by ${p.behind} heights` : 'in step'
    out.push(`member      ${name(m)}  ${state}`)
  }
  for (const c of st.changes) out.push(`change      ${c.action} ${name(c.validator)}  ${c.approvals} approvals${c.approved ? ', approved' : ''}`)
  return out
}

export function committeeCommand (program: Command): void {
  const committee = program.command('committee').description('the validator committee: its signed file and lease certificates')

  committee.command('init').description('write a signed genesis committee file (n = 3f+1 validators; 2f+1 must sign)')
    .option('--key <file...>', 'key files of validators that sign now')
    .option('--pubkey <hex...>', 'public keys (hex) of validators that sign later with `committee sign`')
    .option('--genesis-time <ms>', 'committee time of the first batch, ms since 1970 (default: now)')
    .option('-o, --out <file>', 'where to write the file', 'committee.json')
    .option('--json', 'print as JSON')
    .action(async (opts) => {
      const signers = await readKeys(opts.key ?? [])
      const pubkeys = (opts.pubkey ?? []).map((h: string, i: number) => {
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
    })

  committee.command('sign').description('add a validator\'s signature to a committee file')
    .argument('<file>', 'committee file')
    .requiredOption('--key <file>', 'the validator\'s key file')
    .action(async (path: string, opts) => {
      const [id] = await readKeys([opts.key])
      const files = parseCommitteeFiles(await readFile(path, 'utf8'), path)
      if (files.length !== 1) throw new CliError(`${path} holds ${files.length} files; sign one at a time`)
      const f = files[0]
      if (!f.info.index.has(Buffer.from(id.publicKey).toString('hex')) && f.info.epoch === 0) throw new CliError('this key is not one of the genesis validators')
      const next = addFileSignature(f, signCommitteeFile(f.info, id))
      await writeFile(path, JSON.stringify(committeeFileToJson(next), null, 2) + '\n')
      print(`${path}: ${next.signatures.length} signatures`)
    })

  committee.command('verify').description('check a committee file (or chain of files), or a lease certificate, offline')
    .argument('<file>', 'committee file, JSON array of files from the genesis on, or lease certificate (JSON or CBOR)')
    .option('--committee <file>', 'committee chain to check a lease certificate against')
    .option('--json', 'print as JSON')
    .action(async (path: string, opts) => {
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
    })

  // commands of a running validator node
  committee.command('status').description('epoch, members, height, leader, and which validators are behind').option('--json', 'print as JSON')
    .action(async (opts) => {
      const r: any = await client(program).get('/v1/committee')
      if (opts.json === true) { printJson(r); return }
      for (const l of committeeStatusLines(r)) print(l)
    })
  committee.command('evidence').description('conflicting signatures by one validator, kept as evidence').option('--json', 'print as JSON')
    .action(async (opts) => {
      const ev: any[] = await client(program).get('/v1/committee/evidence')
      if (opts.json === true) { printJson(ev); return }
      if (ev.length === 0) { print('no evidence'); return }
      for (const e of ev) print(`${e.kind}  validator ${e.validator != null ? peerIdOfPublicKey(Buffer.from(e.validator, 'hex')) : '?'}  height ${e.height ?? '?'}`)
    })
  committee.command('join').description('ask the committee to admit this validator node (its members approve)')
    .action(async () => {
      const r: any = await client(program).post('/v1/committee/join')
      print(`asked to join: change ${r.change}`)
      print('each current member approves with: souk committee approve <this node\'s peer ID>')
    })
  committee.command('leave').description('ask the committee to let this validator go')
    .action(async () => {
      const r: any = await client(program).post('/v1/committee/leave')
      print(`asked to leave: change ${r.change}`)
    })
  committee.command('approve').argument('<peer>', 'peer ID (or key, or change ID) of the validator joining or leaving').description('approve a pending membership change')
    .action(async (peer: string) => {
      const r: any = await client(program).post('/v1/committee/approve', { target: peer })
      print(`approved change ${r.change}`)
    })
}
