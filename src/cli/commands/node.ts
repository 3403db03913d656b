import { mkdir, writeFile, access } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command } from 'commander'
import { configTemplate, CONFIG_FILE, ROLES } from '../../config/index.ts'
import type { Role } from '../../config/index.ts'
import { loadOrCreateKey } from '../../identity/index.ts'
import { REACHABILITY_TEXT } from '../../net/index.ts'
import { controlClient } from '../../api/index.ts'
import { startDaemon, controlSocketPath } from '../../node/daemon.ts'
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

  node.command('start').description('run the daemon in the foreground (Ctrl-C stops it cleanly)')
    .option('--set <path=value...>', 'override a setting of souk.yaml (repeatable)')
    .action(async (opts) => {
      const d = await startDaemon(home(), { set: opts.set })
      let signals = 0
      const onSignal = (): void => {
        if (++signals > 1) process.exit(130)
        void d.stop()
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      await d.stopped
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    })

  node.command('status').description('show the running node: peer ID, roles, addresses, peers')
    .option('--json', 'print as JSON')
    .action(async (opts) => {
      const s: any = await client(program).get('/v1/node')
      if (opts.json === true) { printJson(s); return }
      print(`peer ID     ${s.peerId}`)
      print(`roles       ${s.roles.join(', ')}`)
      print(`peers       ${s.peers}`)
      print(`leases      ${s.leases}`)
      print(`metrics     http://127.0.0.1:${s.metricsPort}/metrics`)
      for (const a of s.addresses) print(`address     ${a}`)
      print(`network     ${(REACHABILITY_TEXT as Record<string, string>)[s.reachability] ?? String(s.reachability)}`)
      if (s.committee != null) print(`committee   height ${s.committee.height}, round ${s.committee.round}, epoch ${s.committee.epoch}`)
    })

  node.command('stop').description('stop the running daemon cleanly')
    .action(async () => {
      await client(program).post('/v1/node/stop')
      print('stopping')
    })
}
