import { ROLES } from '../../../config/index.ts'
import type { CommandGroup } from '../../command-group.ts'
import type { InitOptions, InstallServiceOptions, JsonOptions, ReloadOptions, SetOptions } from './options.ts'

export const node: CommandGroup = {
  name: 'node',
  register (program, { home, client }) {
    const node = program.command('node').description('the souk daemon: init, start, status, stop')

    node.command('init').description('create the node home: key and a commented souk.yaml')
      .option('--role <roles>', `comma-separated roles: ${ROLES.join(', ')}`, 'tenant')
      .option('--force', 'overwrite an existing souk.yaml')
      .option('--json', 'print as JSON')
      .action(async (opts: InitOptions) => { await (await import('./local.ts')).nodeInit(home(), opts) })

    node.command('start').description('run the daemon in the foreground (Ctrl-C stops it cleanly; SIGHUP reloads souk.yaml)')
      .option('--set <path=value...>', 'override a setting of souk.yaml (repeatable)')
      .action(async (opts: SetOptions) => { await (await import('./local.ts')).nodeStart(home(), opts) })

    node.command('status').description('show the running node and check it: peers, bootstrap, committee, runtime, GPUs, disk, clock; exits 1 when a check fails')
      .option('--json', 'print as JSON')
      .action(async (opts: JsonOptions) => { await (await import('./running.ts')).nodeStatus(await client(), opts) })

    node.command('reload').description('re-read souk.yaml: prices and attributes apply to new bids, the log level at once; other changes need a restart (also on SIGHUP)')
      .option('--set <path=value...>', 'the overrides the daemon was started with')
      .option('--json', 'print as JSON')
      .action(async (opts: ReloadOptions) => { await (await import('./running.ts')).nodeReload(await client(), opts) })

    node.command('backup').argument('<dir>', 'a new directory for the backup (outside the home)')
      .description('copy key.json, souk.yaml, the committee file and a consistent snapshot of the store; a provider or tenant may be running, a validator must be stopped')
      .option('--json', 'print as JSON')
      .action(async (dir: string, opts: JsonOptions) => { await (await import('./running.ts')).nodeBackup(await client(), home(), dir, opts) })

    node.command('install-service').description('write a systemd unit for this node home and print how to enable it')
      .option('--user <user>', 'the account the daemon runs as (default: the current user)')
      .option('--name <name>', 'the unit name', 'souk')
      .option('--output <file>', 'where to write the unit (default /etc/systemd/system/NAME.service when run as root, else ./NAME.service)')
      .option('--souk <path>', 'the souk command the unit runs (default: this one)')
      .option('--node <path>', 'the Node.js 24 binary that runs it (default: the one running this command)')
      .option('--docker-host <url>', 'DOCKER_HOST for the daemon (it overrides provider.dockerHost)')
      .action(async (opts: InstallServiceOptions) => { await (await import('./local.ts')).nodeInstallService(home(), opts) })

    node.command('stop').description('stop the running daemon cleanly')
      .action(async () => { await (await import('./running.ts')).nodeStop(await client()) })
  }
}
