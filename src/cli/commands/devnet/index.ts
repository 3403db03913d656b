import type { CommandGroup } from '../../command-group.ts'
import { DEFAULT_DIR } from './options.ts'
import type { DirOptions, JsonDirOptions, UpOptions } from './options.ts'

export const devnet: CommandGroup = {
  name: 'devnet',
  register (program) {
    const devnet = program.command('devnet').description('a complete souk network on this machine: validators, providers and a tenant')
    devnet.command('up').description('start 4 validators, 2 providers (local Docker) and a tenant as processes on loopback')
      .option('--dir <dir>', 'where the node homes go', DEFAULT_DIR)
      .option('--validators <n>', 'committee size (3f+1)', '4')
      .option('--providers <n>', 'providers', '2')
      .option('--netns', 'each node in a network namespace of its own, on one bridge (needs root); links can then be cut and healed')
      .option('--wan <profile>', 'every node dials through an emulated wide-area network: lan, continents or lossy (docs/wan-emulation.md)')
      .option('--wan-seed <n>', 'seed of the emulated links (delay, jitter and loss draws)', '1')
      .option('--nat', 'with --netns: the last provider sits behind a NAT router and is reached through a relay on validator-0')
      .option('--json', 'print as JSON')
      .action(async (opts: UpOptions) => { await (await import('./handler.ts')).devnetUp(opts) })
    devnet.command('image').description('build the example image souk/busybox:latest from Debian\'s busybox-static if it is missing (no registry needed)')
      .action(async () => { await (await import('./handler.ts')).devnetImage() })
    devnet.command('status').option('--dir <dir>', 'the devnet directory', DEFAULT_DIR).option('--json', 'print as JSON')
      .action(async (opts: JsonDirOptions) => { await (await import('./handler.ts')).devnetStatus(opts) })
    devnet.command('cut').description('drop every packet between the nodes of one group and those of the other (a devnet started with --netns)')
      .argument('<a>', 'comma-separated node names, e.g. validator-0,validator-1')
      .argument('[b]', 'comma-separated node names (default: every other node)')
      .option('--dir <dir>', 'the devnet directory', DEFAULT_DIR)
      .action(async (a: string, b: string | undefined, opts: DirOptions) => { await (await import('./handler.ts')).devnetCut(a, b, opts) })
    devnet.command('heal').description('restore every link cut').option('--dir <dir>', 'the devnet directory', DEFAULT_DIR)
      .action(async (opts: DirOptions) => { await (await import('./handler.ts')).devnetHeal(opts) })
    devnet.command('kill').description('kill one node at once (SIGKILL, as a crash would); `souk devnet start` brings it back from its home')
      .argument('<node>', 'node name, e.g. provider-0')
      .option('--dir <dir>', 'the devnet directory', DEFAULT_DIR)
      .action(async (name: string, opts: DirOptions) => { await (await import('./handler.ts')).devnetKill(name, opts) })
    devnet.command('start').description('start one stopped node again from its home')
      .argument('<node>', 'node name, e.g. provider-0')
      .option('--dir <dir>', 'the devnet directory', DEFAULT_DIR)
      .action(async (name: string, opts: DirOptions) => { await (await import('./handler.ts')).devnetStart(name, opts) })
    devnet.command('down').option('--dir <dir>', 'the devnet directory', DEFAULT_DIR).option('--json', 'print as JSON')
      .action(async (opts: JsonDirOptions) => { await (await import('./handler.ts')).devnetDown(opts) })
  }
}
