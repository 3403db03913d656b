// Commands on the node home itself: init, start (the daemon in the foreground), install-service.
import { mkdir, writeFile, access, chmod } from 'node:fs/promises'
import { join, resolve as resolvePath } from 'node:path'
import { userInfo } from 'node:os'
import { fileURLToPath } from 'node:url'
import { configTemplate, CONFIG_FILE, ROLES, loadConfig } from '../../../config/index.ts'
import type { Role } from '../../../config/index.ts'
import { loadOrCreateKey } from '../../../identity/index.ts'
import { startDaemon } from '../../../node/daemon.ts'
import type { DaemonHandle } from '../../../node/daemon.ts'
import { setLogOutput } from '../../../node/logger.ts'
import { reportAtStart } from '../../../node/start-report.ts'
import { errorMessage } from '../../../util/index.ts'
import { homeClient } from '../../client.ts'
import { print, printJson, CliError } from '../../output.ts'
import { serviceUnit } from '../../service-unit.ts'
import type { InitOptions, InstallServiceOptions, SetOptions } from './options.ts'

const isRole = (r: string): r is Role => (ROLES as readonly string[]).includes(r)

export async function nodeInit (h: string, opts: InitOptions): Promise<void> {
  const names = String(opts.role).split(',').map((r) => r.trim()).filter((r) => r !== '')
  const roles: Role[] = []
  for (const r of names) {
    if (!isRole(r)) throw new CliError(`unknown role "${r}" (roles: ${ROLES.join(', ')})`)
    roles.push(r)
  }
  await mkdir(h, { recursive: true, mode: 0o700 })
  const file = join(h, CONFIG_FILE)
  const exists = await access(file).then(() => true, () => false)
  if (exists && opts.force !== true) throw new CliError(`${file} already exists (use --force to overwrite)`)
  await writeFile(file, configTemplate(roles), { mode: 0o600 })
  const id = await loadOrCreateKey(h)
  if (opts.json === true) { printJson({ home: h, config: file, peerId: id.peerId.toString(), roles }); return }
  print(`node home   ${h}`)
  print(`config      ${file}`)
  print(`peer ID     ${id.peerId.toString()}`)
  print(`roles       ${roles.join(', ')}`)
}

export async function nodeStart (h: string, opts: SetOptions): Promise<void> {
  await mkdir(h, { recursive: true, mode: 0o700 })
  await chmod(h, 0o700).catch(() => {})
  let closeLog: (() => void) | undefined
  let d: DaemonHandle
  try {
    const config = await loadConfig({ home: h, set: opts.set })
    if (config.log.file !== '') closeLog = setLogOutput({ file: resolvePath(h, config.log.file), maxBytes: config.log.maxBytes, keep: config.log.keep })
    d = await startDaemon(h, { set: opts.set })
  } catch (err) {
    closeLog?.()
    throw err
  }
  const report = reportAtStart(d.node, d.node.logger)
  let signals = 0
  const onSignal = (): void => {
    if (++signals > 1) process.exit(130)
    void d.stop()
  }
  // SIGHUP reloads through the control API, as `souk node reload` does
  const onHup = (): void => {
    void homeClient(h).then(async (c) => await c.call('POST /v1/node/reload', { body: { set: opts.set } })).then(
      (r) => { d.node.logger.info({ applied: r.applied, refused: r.refused }, 'souk.yaml reloaded') },
      (err) => { d.node.logger.error({ err: errorMessage(err) }, 'souk.yaml not reloaded') })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('SIGHUP', onHup)
  await d.stopped
  report.stop()
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
  process.off('SIGHUP', onHup)
  closeLog?.()
}

export async function nodeInstallService (h: string, opts: InstallServiceOptions): Promise<void> {
  if (!/^[A-Za-z0-9_.@-]+$/.test(opts.name)) throw new CliError(`--name ${JSON.stringify(opts.name)}: letters, digits, _ . @ - only`)
  const souk = resolvePath(opts.souk ?? fileURLToPath(new URL('../../../../bin/souk', import.meta.url)))
  const user = opts.user ?? userInfo().username
  const unit = serviceUnit({ user, home: h, souk, node: resolvePath(opts.node ?? process.execPath), environment: opts.dockerHost != null ? { DOCKER_HOST: opts.dockerHost } : undefined })
  const file = resolvePath(opts.output ?? (process.getuid?.() === 0 ? `/etc/systemd/system/${opts.name}.service` : `${opts.name}.service`))
  await writeFile(file, unit, { mode: 0o644 })
  print(`wrote ${file}`)
  if (!file.startsWith('/etc/systemd/system/')) print(`  sudo cp ${file} /etc/systemd/system/${opts.name}.service`)
  print(`  sudo chown -R ${user} ${h}`)
  print('  sudo systemctl daemon-reload')
  print(`  sudo systemctl enable --now ${opts.name}`)
  print(`  journalctl -u ${opts.name} -f          # its log`)
  print(`  souk --home ${h} node status            # its checks`)
  print(`  sudo systemctl reload ${opts.name}      # re-read souk.yaml (prices, attributes)`)
}
