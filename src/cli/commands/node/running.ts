// Commands of the running daemon, through its control API: status, reload, backup, stop.
import { resolve as resolvePath } from 'node:path'
import { ApiErrorCode } from '../../../api/index.ts'
import type { BackupView, ControlClient } from '../../../api/index.ts'
import { loadConfig } from '../../../config/index.ts'
import { loadKey } from '../../../identity/index.ts'
import { REACHABILITY_TEXT } from '../../../net/index.ts'
import { backupStoppedHome } from '../../../node/backup.ts'
import { errorCode } from '../../../util/index.ts'
import { print, printJson } from '../../output.ts'
import type { JsonOptions, ReloadOptions } from './options.ts'

const reachabilityText: Record<string, string> = REACHABILITY_TEXT

export async function nodeStatus (client: ControlClient, opts: JsonOptions): Promise<void> {
  const s = await client.call('GET /v1/node', {})
  const health = await client.call('GET /v1/health', {})
  if (!health.ok) process.exitCode = 1
  if (opts.json === true) { printJson({ ...s, health }); return }
  print(`peer ID     ${s.peerId}`)
  print(`roles       ${s.roles.join(', ')}`)
  print(`peers       ${s.peers}`)
  print(`leases      ${s.leases}`)
  print(`metrics     http://127.0.0.1:${s.metricsPort}/metrics`)
  for (const a of s.addresses) print(`address     ${a}`)
  print(`network     ${reachabilityText[s.reachability] ?? String(s.reachability)}`)
  if (s.committee != null) print(`committee   height ${s.committee.height}, round ${s.committee.round}, epoch ${s.committee.epoch}`)
  print('')
  for (const check of health.checks) {
    print(`${check.status.toUpperCase().padEnd(5)} ${check.name.padEnd(10)} ${check.detail}`)
    if (check.fix != null && check.status !== 'ok') print(`${' '.repeat(17)}fix: ${check.fix}`)
  }
  if (!health.ok) process.stderr.write(`error: failing check${health.failing.length === 1 ? '' : 's'}: ${health.failing.join(', ')}\n`)
}

export async function nodeReload (client: ControlClient, opts: ReloadOptions): Promise<void> {
  const r = await client.call('POST /v1/node/reload', { body: { set: opts.set } })
  if (opts.json === true) printJson(r)
  else {
    if (r.changed.length === 0) print('souk.yaml: no changes')
    for (const k of r.applied) print(`applied     ${k}`)
    for (const k of r.refused) print(`not applied ${k}: ${r.reasons[k] ?? 'takes effect after a restart'}`)
  }
  if (r.refused.length > 0) process.exitCode = 1
}

export async function nodeBackup (client: ControlClient, home: string, dirArg: string, opts: JsonOptions): Promise<void> {
  const dir = resolvePath(dirArg)
  let m: BackupView
  try {
    m = await client.call('POST /v1/node/backup', { body: { dir } })
  } catch (err) {
    if (errorCode(err) !== ApiErrorCode.DAEMON_NOT_RUNNING) throw err
    // no daemon: the home is copied as it lies, under its lock
    const config = await loadConfig({ home })
    const id = await loadKey(home)
    m = await backupStoppedHome({ home, peerId: id.peerId.toString(), roles: config.roles, committeeFile: config.committee.file }, dir)
  }
  if (opts.json === true) { printJson({ dir, ...m }); return }
  print(`backup      ${dir}`)
  print(`peer ID     ${m.peerId}`)
  print(`roles       ${m.roles.join(', ')}`)
  print(`taken       ${m.live ? 'from the running node' : 'from the stopped node'}`)
  print(`files       ${m.files.join(', ')}`)
}

export async function nodeStop (client: ControlClient): Promise<void> {
  await client.call('POST /v1/node/stop', {})
  print('stopping')
}
