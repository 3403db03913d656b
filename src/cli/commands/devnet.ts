import type { Command } from 'commander'
import { print, printJson } from '../output.ts'
import { NodeError, NodeErrorCode } from '../../node/errors.ts'

// loaded when a devnet command runs: the devnet loads the Docker client, which every other
// command (a daemon started with `souk node start` among them) does without
const devnetModule = async (): Promise<typeof import('../../node/devnet.ts')> => await import('../../node/devnet.ts')

const DEFAULT_DIR = './.souk-devnet'

export function devnetCommand (program: Command): void {
  const devnet = program.command('devnet').description('a complete souk network on this machine: validators, providers and a tenant')
  devnet.command('up').description('start 4 validators, 2 providers (local Docker) and a tenant as processes on loopback')
    .option('--dir <dir>', 'where the node homes go', DEFAULT_DIR)
    .option('--validators <n>', 'committee size (3f+1)', '4')
    .option('--providers <n>', 'providers', '2')
    .option('--netns', 'each node in a network namespace of its own, on one bridge (needs root); links can then be cut and healed')
    .option('--wan <profile>', 'every node dials through an emulated wide-area network: lan, continents or lossy (docs/wan-emulation.md)')
    .option('--wan-seed <n>', 'seed of the emulated links (delay, jitter and loss draws)', '1')
    .option('--json', 'print as JSON')
    .action(async (opts) => {
      if (opts.wan != null && !/^\d{1,10}$/.test(String(opts.wanSeed))) throw new NodeError(NodeErrorCode.DEVNET_WAN, `--wan-seed must be a whole number, not ${JSON.stringify(opts.wanSeed)}`)
      const state = await (await devnetModule()).devnetUp(opts.dir, {
        validators: Number(opts.validators),
        providers: Number(opts.providers),
        netns: opts.netns === true,
        ...(opts.wan != null ? { wan: { profile: opts.wan, seed: Number(opts.wanSeed) } } : {}),
        onProgress: (e) => {
          if (opts.json === true) return
          if (e.type === 'devnet:image') print(e.detail.built ? `built the example image ${e.detail.image}` : `example image ${e.detail.image} present`)
          if (e.type === 'devnet:node-started') print(`started ${e.detail.name.padEnd(12)} ${e.detail.peerId}`)
        }
      })
      if (opts.json === true) { printJson(state); return }
      print(`devnet up in ${state.dir}`)
      if (state.wan != null) print(`emulated WAN ${state.wan.profile} (seed ${state.wan.seed}): ${state.nodes.map((n) => `${n.name} ${n.region ?? '?'}`).join(', ')}`)
      print('deploy with:')
      print(`  souk --home ${opts.dir.replace(/\/$/, '')}/tenant deploy examples/web.yaml`)
    })
  devnet.command('image').description('build the example image souk/busybox:latest from Debian\'s busybox-static if it is missing (no registry needed)')
    .action(async () => {
      const { ensureExampleImage, EXAMPLE_IMAGE } = await import('../../node/test-image.ts')
      const { dockerClient } = await import('../../runtime/docker-client.ts')
      const built = await ensureExampleImage(dockerClient())
      print(built === 'built' ? `built ${EXAMPLE_IMAGE}` : `${EXAMPLE_IMAGE} is present`)
    })
  devnet.command('status').option('--dir <dir>', 'the devnet directory', DEFAULT_DIR).option('--json', 'print as JSON')
    .action(async (opts) => {
      const s = await (await devnetModule()).devnetStatus(opts.dir)
      if (opts.json === true) { printJson(s); return }
      for (const n of s) print(`${n.name.padEnd(12)} ${n.running ? 'running' : 'stopped'}  ${n.running ? `${n.peers ?? 0} peers` : ''}  ${n.peerId}${n.ip != null ? `  ${n.ip}` : ''}`)
      if (s.some((n) => !n.running)) process.exitCode = 1
    })
  devnet.command('cut').description('drop every packet between the nodes of one group and those of the other (a devnet started with --netns)')
    .argument('<a>', 'comma-separated node names, e.g. validator-0,validator-1')
    .argument('[b]', 'comma-separated node names (default: every other node)')
    .option('--dir <dir>', 'the devnet directory', DEFAULT_DIR)
    .action(async (a: string, b: string | undefined, opts) => {
      const names = (x: string): string[] => x.split(',').map((s) => s.trim()).filter((s) => s !== '')
      if (b == null) await (await devnetModule()).devnetPartition(opts.dir, [names(a)])
      else await (await devnetModule()).devnetCut(opts.dir, names(a), names(b))
      print(`cut ${a} from ${b ?? 'every other node'}`)
    })
  devnet.command('heal').description('restore every link cut').option('--dir <dir>', 'the devnet directory', DEFAULT_DIR)
    .action(async (opts) => {
      const n = await (await devnetModule()).devnetHeal(opts.dir)
      print(`healed ${n} link${n === 1 ? '' : 's'}`)
    })
  devnet.command('kill').description('kill one node at once (SIGKILL, as a crash would); `souk devnet start` brings it back from its home')
    .argument('<node>', 'node name, e.g. provider-0')
    .option('--dir <dir>', 'the devnet directory', DEFAULT_DIR)
    .action(async (name: string, opts) => {
      print(await (await devnetModule()).devnetKill(opts.dir, name) ? `killed ${name}` : `${name} was not running`)
    })
  devnet.command('start').description('start one stopped node again from its home')
    .argument('<node>', 'node name, e.g. provider-0')
    .option('--dir <dir>', 'the devnet directory', DEFAULT_DIR)
    .action(async (name: string, opts) => {
      const n = await (await devnetModule()).devnetStart(opts.dir, name)
      print(`started ${n.name.padEnd(12)} ${n.peerId}`)
    })
  devnet.command('down').option('--dir <dir>', 'the devnet directory', DEFAULT_DIR).option('--json', 'print as JSON')
    .action(async (opts) => {
      const r = await (await devnetModule()).devnetDown(opts.dir)
      if (opts.json === true) { printJson(r); return }
      print(`stopped ${r.stopped} nodes${r.removed > 0 ? `, removed ${r.removed} leftover containers` : ''}`)
    })
}
