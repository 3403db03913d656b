import { mkdir, writeFile, access, chmod } from 'node:fs/promises'
import { join, resolve as resolvePath } from 'node:path'
import type { Command } from 'commander'
import { configTemplate, CONFIG_FILE, ROLES, loadConfig } from '../../config/index.ts'
import type { Role } from '../../config/index.ts'
import { loadOrCreateKey } from '../../identity/index.ts'
import { REACHABILITY_TEXT } from '../../net/index.ts'
import { controlClient } from '../../api/index.ts'
import { startDaemon, controlSocketPath } from '../../node/daemon.ts'
import type { DaemonHandle } from '../../node/daemon.ts'
import { setLogOutput } from '../../node/logger.ts'
import { backupStoppedHome } from '../../node/backup.ts'
import type { BackupManifest } from '../../node/backup.ts'
import { loadKey } from '../../identity/index.ts'
import { ApiErrorCode } from '../../api/index.ts'
import { reportAtStart } from '../../node/start-report.ts'
import type { HealthReport } from '../../node/health.ts'
import { serviceUnit } from '../service-unit.ts'
import { userInfo } from 'node:os'
import { fileURLToPath } from 'node:url'
import { resolveHome } from '../home.ts'
import { print, printJson, CliError } from '../output.ts'

export function client (program: Command): ReturnType<typeof controlClient> {
  const home = resolveHome(program.opts().home)
  return controlClient({ socketPath: controlSocketPath(home), home })
}

export function nodeCommand (program: Command): void {
  const node = program.command('node').description('the souk daemon: init, start, status, stop')
  const home = (): string => resolveHome(program.opts().home)

  node.command('init').description('create the node home: key and a commented souk.yaml')
    .option('--role <roles>', `comma-separated roles: ${ROLES.join(', ')}`, 'tenant')
    .option('--force', 'overwrite an existing souk.yaml')
    .option('--json', 'print as JSON')
    .action(async (opts) => {
      const roles = String(opts.role).split(',').map((r) => r.trim()).filter((r) => r !== '')
      for (const r of roles) if (!ROLES.includes(r as Role)) throw new CliError(`unknown role "${r}" (roles: ${ROLES.join(', ')})`)
      const h = home()
      await mkdir(h, { recursive: true, mode: 0o700 })
      const file = join(h, CONFIG_FILE)
      const exists = await access(file).then(() => true, () => false)
      if (exists && opts.force !== true) throw new CliError(`${file} already exists (use --force to overwrite)`)
      await writeFile(file, configTemplate(roles as Role[]), { mode: 0o600 })
      const id = await loadOrCreateKey(h)
      if (opts.json === true) { printJson({ home: h, config: file, peerId: id.peerId.toString(), roles }); return }
      print(`node home   ${h}`)
      print(`config      ${file}`)
      print(`peer ID     ${id.peerId.toString()}`)
      print(`roles       ${roles.join(', ')}`)
    })

  node.command('start').description('run the daemon in the foreground (Ctrl-C stops it cleanly; SIGHUP reloads souk.yaml)')
    .option('--set <path=value...>', 'override a setting of souk.yaml (repeatable)')
    .action(async (opts) => {
      const h = home()
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
      const onHup = (): void => {
        void client(program).post('/v1/node/reload', { set: opts.set }).then(
          (r: any) => { d.node.logger.info({ applied: r.applied, refused: r.refused }, 'souk.yaml reloaded') },
          (err: any) => { d.node.logger.error({ err: String(err?.message ?? err) }, 'souk.yaml not reloaded') })
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
    })

  node.command('status').description('show the running node and check it: peers, bootstrap, committee, runtime, GPUs, disk, clock; exits 1 when a check fails')
    .option('--json', 'print as JSON')
    .action(async (opts) => {
      const c = client(program)
      const s: any = await c.get('/v1/node')
      const health = await c.get<HealthReport>('/v1/health')
      if (!health.ok) process.exitCode = 1
      if (opts.json === true) { printJson({ ...s, health }); return }
      print(`peer ID     ${s.peerId}`)
      print(`roles       ${s.roles.join(', ')}`)
      print(`peers       ${s.peers}`)
      print(`leases      ${s.leases}`)
      print(`metrics     http://127.0.0.1:${s.metricsPort}/metrics`)
      for (const a of s.addresses) print(`address     ${a}`)
      print(`network     ${(REACHABILITY_TEXT as Record<string, string>)[s.reachability] ?? String(s.reachability)}`)
      if (s.committee != null) print(`committee   height ${s.committee.height}, round ${s.committee.round}, epoch ${s.committee.epoch}`)
      print('')
      for (const check of health.checks) {
        print(`${check.status.toUpperCase().padEnd(5)} ${check.name.padEnd(10)} ${check.detail}`)
        if (check.fix != null && check.status !== 'ok') print(`${' '.repeat(17)}fix: ${check.fix}`)
      }
      if (!health.ok) process.stderr.write(`error: failing check${health.failing.length === 1 ? '' : 's'}: ${health.failing.join(', ')}\n`)
    })

  node.command('reload').description('re-read souk.yaml: prices and attributes apply to new bids, the log level at once; other changes need a restart (also on SIGHUP)')
    .option('--set <path=value...>', 'the overrides the daemon was started with')
    .option('--json', 'print as JSON')
    .action(async (opts) => {
      const r: any = await client(program).post('/v1/node/reload', { set: opts.set })
      if (opts.json === true) printJson(r)
      else {
        if (r.changed.length === 0) print('souk.yaml: no changes')
        for (const k of r.applied) print(`applied     ${k}`)
        for (const k of r.refused) print(`not applied ${k}: ${r.reasons[k] ?? 'takes effect after a restart'}`)
      }
      if (r.refused.length > 0) process.exitCode = 1
    })

  node.command('backup').argument('<dir>', 'a new directory for the backup (outside the home)')
    .description('copy key.json, souk.yaml, the committee file and a consistent snapshot of the store; a provider or tenant may be running, a validator must be stopped')
    .option('--json', 'print as JSON')
    .action(async (dirArg: string, opts) => {
      const dir = resolvePath(dirArg)
      let m: BackupManifest
      try {
        m = await client(program).post<BackupManifest>('/v1/node/backup', { dir })
      } catch (err: any) {
        if (err?.code !== ApiErrorCode.DAEMON_NOT_RUNNING) throw err
        // no daemon: the home is copied as it lies, under its lock
        const h = home()
        const config = await loadConfig({ home: h })
        const id = await loadKey(h)
        m = await backupStoppedHome({ home: h, peerId: id.peerId.toString(), roles: config.roles, committeeFile: config.committee.file }, dir)
      }
      if (opts.json === true) { printJson({ dir, ...m }); return }
      print(`backup      ${dir}`)
      print(`peer ID     ${m.peerId}`)
      print(`roles       ${m.roles.join(', ')}`)
      print(`taken       ${m.live ? 'from the running node' : 'from the stopped node'}`)
      print(`files       ${m.files.join(', ')}`)
    })

  node.command('install-service').description('write a systemd unit for this node home and print how to enable it')
    .option('--user <user>', 'the account the daemon runs as (default: the current user)')
    .option('--name <name>', 'the unit name', 'souk')
    .option('--output <file>', 'where to write the unit (default /etc/systemd/system/NAME.service when run as root, else ./NAME.service)')
    .option('--souk <path>', 'the souk command the unit runs (default: this one)')
    .option('--node <path>', 'the Node.js 24 binary that runs it (default: the one running this command)')
    .option('--docker-host <url>', 'DOCKER_HOST for the daemon (it overrides provider.dockerHost)')
    .action(async (opts) => {
      const h = home()
      if (!/^[A-Za-z0-9_.@-]+$/.test(opts.name)) throw new CliError(`--name ${JSON.stringify(opts.name)}: letters, digits, _ . @ - only`)
      const souk = resolvePath(opts.souk ?? fileURLToPath(new URL('../../../bin/souk', import.meta.url)))
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
    })

  node.command('stop').description('stop the running daemon cleanly')
    .action(async () => {
      await client(program).post('/v1/node/stop')
      print('stopping')
    })
}
