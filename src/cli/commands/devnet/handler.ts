// `souk devnet …`: a whole network as processes on this machine.
import type { ProfileName } from '../../../net/wan/index.ts'
import { NodeError, NodeErrorCode } from '../../../node/errors.ts'
import { print, printJson } from '../../output.ts'
import type { DirOptions, JsonDirOptions, UpOptions } from './options.ts'

// loaded when a devnet command runs: the devnet loads the Docker client, which every other
// command (a daemon started with `souk node start` among them) does without
const devnetModule = async (): Promise<typeof import('../../../node/devnet.ts')> => await import('../../../node/devnet.ts')

export async function devnetUp (opts: UpOptions): Promise<void> {
  if (opts.wan != null && !/^\d{1,10}$/.test(String(opts.wanSeed))) throw new NodeError(NodeErrorCode.DEVNET_WAN, `--wan-seed must be a whole number, not ${JSON.stringify(opts.wanSeed)}`)
  let wan: { profile: ProfileName, seed: number } | undefined
  if (opts.wan != null) {
    // the profile module is small and only a devnet with --wan needs it
    const { PROFILE_NAMES } = await import('../../../net/wan/index.ts')
    const profile = PROFILE_NAMES.find((p) => p === opts.wan)
    if (profile == null) throw new NodeError(NodeErrorCode.DEVNET_WAN, `WAN profile ${JSON.stringify(opts.wan)} is not one of ${PROFILE_NAMES.join(', ')}`)
    wan = { profile, seed: Number(opts.wanSeed) }
  }
  const state = await (await devnetModule()).devnetUp(opts.dir, {
    validators: Number(opts.validators),
    providers: Number(opts.providers),
    netns: opts.netns === true,
    nat: opts.nat === true,
    ...(wan != null ? { wan } : {}),
    onProgress: (e) => {
      if (opts.json === true) return
      if (e.type === 'devnet:image') print(e.detail.built ? `built the example image ${e.detail.image}` : `example image ${e.detail.image} present`)
      if (e.type === 'devnet:node-started') print(`started ${e.detail.name.padEnd(12)} ${e.detail.peerId}`)
    }
  })
  if (opts.json === true) { printJson(state); return }
  print(`devnet up in ${state.dir}`)
  const natted = state.nodes.find((n) => n.natted === true)
  if (natted != null) print(`${natted.name} is behind NAT at ${natted.ip ?? '?'}: reached through the relay on ${state.nodes.find((n) => n.relay === true)?.name ?? '?'}`)
  if (state.netns != null && state.nodes.some((n) => n.role === 'provider')) print('providers run without the lease firewall: from a namespace of their own they cannot reach the host\'s DOCKER-USER chain')
  if (state.wan != null) print(`emulated WAN ${state.wan.profile} (seed ${state.wan.seed}): ${state.nodes.map((n) => `${n.name} ${n.region ?? '?'}`).join(', ')}`)
  print('deploy with:')
  print(`  souk --home ${opts.dir.replace(/\/$/, '')}/tenant deploy examples/web.yaml`)
}

export async function devnetImage (): Promise<void> {
  const { ensureExampleImage, EXAMPLE_IMAGE } = await import('../../../node/test-image.ts')
  const { dockerClient } = await import('../../../runtime/docker-client.ts')
  const built = await ensureExampleImage(dockerClient())
  print(built === 'built' ? `built ${EXAMPLE_IMAGE}` : `${EXAMPLE_IMAGE} is present`)
}

export async function devnetStatus (opts: JsonDirOptions): Promise<void> {
  const s = await (await devnetModule()).devnetStatus(opts.dir)
  if (opts.json === true) { printJson(s); return }
  for (const n of s) print(`${n.name.padEnd(12)} ${n.running ? 'running' : 'stopped'}  ${n.running ? `${n.peers ?? 0} peers` : ''}  ${n.peerId}${n.ip != null ? `  ${n.ip}` : ''}`)
  if (s.some((n) => !n.running)) process.exitCode = 1
}

export async function devnetCut (a: string, b: string | undefined, opts: DirOptions): Promise<void> {
  const names = (x: string): string[] => x.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (b == null) await (await devnetModule()).devnetPartition(opts.dir, [names(a)])
  else await (await devnetModule()).devnetCut(opts.dir, names(a), names(b))
  print(`cut ${a} from ${b ?? 'every other node'}`)
}

export async function devnetHeal (opts: DirOptions): Promise<void> {
  const n = await (await devnetModule()).devnetHeal(opts.dir)
  print(`healed ${n} link${n === 1 ? '' : 's'}`)
}

export async function devnetKill (name: string, opts: DirOptions): Promise<void> {
  print(await (await devnetModule()).devnetKill(opts.dir, name) ? `killed ${name}` : `${name} was not running`)
}

export async function devnetStart (name: string, opts: DirOptions): Promise<void> {
  const n = await (await devnetModule()).devnetStart(opts.dir, name)
  print(`started ${n.name.padEnd(12)} ${n.peerId}`)
}

export async function devnetDown (opts: JsonDirOptions): Promise<void> {
  const r = await (await devnetModule()).devnetDown(opts.dir)
  if (opts.json === true) { printJson(r); return }
  print(`stopped ${r.stopped} nodes${r.removed > 0 ? `, removed ${r.removed} leftover containers` : ''}`)
}
