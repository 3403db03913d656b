// A devnet in network namespaces: a hub namespace with a bridge, one namespace per node joined
// to it by a veth pair, and links cut or healed with blackhole routes.
import { execFile } from 'node:child_process'
import { NodeError } from '../errors.ts'
import { errorMessage } from '../../util/index.ts'
import { findNode, requireDevnet, saveDevnet } from './state.ts'
import { NAT_ROUTER_HOST, NAT_SUBNET, NETNS_SUBNET } from './constants.ts'
import type { DevnetNode, DevnetState } from './types.ts'

export async function run (cmd: string, args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err != null) reject(new NodeError('ERR_DEVNET_NETNS', `${cmd} ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`))
      else resolve(stdout)
    })
  })
}

/** the hub namespace with its bridge, and per node a namespace joined to it by a veth pair */
export async function buildNamespaces (state: DevnetState): Promise<void> {
  const net = state.netns!
  await run('ip', ['netns', 'add', net.hub])
  await run('ip', ['-n', net.hub, 'link', 'add', 'br0', 'type', 'bridge'])
  await run('ip', ['-n', net.hub, 'link', 'set', 'br0', 'up'])
  for (const [i, n] of state.nodes.entries()) {
    const inside = `sk${net.tag}n${i}`
    const outside = `sk${net.tag}h${i}`
    if (n.natted === true) { await buildNat(state, n, inside); continue }
    await run('ip', ['netns', 'add', n.netns!])
    await run('ip', ['link', 'add', inside, 'type', 'veth', 'peer', 'name', outside])
    await run('ip', ['link', 'set', inside, 'netns', n.netns!])
    await run('ip', ['link', 'set', outside, 'netns', net.hub])
    await run('ip', ['-n', n.netns!, 'link', 'set', 'lo', 'up'])
    await run('ip', ['-n', n.netns!, 'addr', 'add', `${n.ip!}/24`, 'dev', inside])
    await run('ip', ['-n', n.netns!, 'link', 'set', inside, 'up'])
    await run('ip', ['-n', net.hub, 'link', 'set', outside, 'master', 'br0'])
    await run('ip', ['-n', net.hub, 'link', 'set', outside, 'up'])
  }
}

/**
 * A node behind NAT: a router namespace on the hub's bridge masquerades a private subnet of its
 * own, with the node alone on it. The node reaches everyone through the router; no hub node has a
 * route to the private subnet, and the router forwards nothing inbound that the node did not open.
 */
async function buildNat (state: DevnetState, n: DevnetNode, inside: string): Promise<void> {
  const net = state.netns!
  const router = net.router!
  const wanSide = `sk${net.tag}rw`
  const hubEnd = `sk${net.tag}rh`
  const lanSide = `sk${net.tag}rl`
  await run('ip', ['netns', 'add', router])
  await run('ip', ['-n', router, 'link', 'set', 'lo', 'up'])
  await run('ip', ['link', 'add', wanSide, 'type', 'veth', 'peer', 'name', hubEnd])
  await run('ip', ['link', 'set', wanSide, 'netns', router])
  await run('ip', ['link', 'set', hubEnd, 'netns', net.hub])
  await run('ip', ['-n', router, 'addr', 'add', `${NETNS_SUBNET}.${NAT_ROUTER_HOST}/24`, 'dev', wanSide])
  await run('ip', ['-n', router, 'link', 'set', wanSide, 'up'])
  await run('ip', ['-n', net.hub, 'link', 'set', hubEnd, 'master', 'br0'])
  await run('ip', ['-n', net.hub, 'link', 'set', hubEnd, 'up'])
  await run('ip', ['netns', 'add', n.netns!])
  await run('ip', ['link', 'add', inside, 'type', 'veth', 'peer', 'name', lanSide])
  await run('ip', ['link', 'set', inside, 'netns', n.netns!])
  await run('ip', ['link', 'set', lanSide, 'netns', router])
  await run('ip', ['-n', router, 'addr', 'add', `${NAT_SUBNET}.1/24`, 'dev', lanSide])
  await run('ip', ['-n', router, 'link', 'set', lanSide, 'up'])
  await run('ip', ['-n', n.netns!, 'link', 'set', 'lo', 'up'])
  await run('ip', ['-n', n.netns!, 'addr', 'add', `${n.ip!}/24`, 'dev', inside])
  await run('ip', ['-n', n.netns!, 'link', 'set', inside, 'up'])
  await run('ip', ['-n', n.netns!, 'route', 'add', 'default', 'via', `${NAT_SUBNET}.1`])
  await run('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
  await run('ip', ['netns', 'exec', router, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', wanSide, '-j', 'MASQUERADE'])
  // a NAT keeps state: only replies to what the inside opened come back in
  await run('ip', ['netns', 'exec', router, 'iptables', '-A', 'FORWARD', '-i', wanSide, '-m', 'conntrack', '!', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'DROP'])
}

export async function removeNamespaces (state: DevnetState): Promise<void> {
  if (state.netns == null) return
  for (const ns of [...state.nodes.map((n) => n.netns), state.netns.router, state.netns.hub]) {
    if (ns != null) await run('ip', ['netns', 'del', ns]).catch(() => {})
  }
}

/** whether this machine can run a devnet in namespaces; undefined when it can, else why not */
export async function netnsUnavailable (opts: { nat?: boolean } = {}): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  try { await run('ip', ['netns', 'list']) } catch (err) { return `iproute2 cannot list namespaces: ${errorMessage(err)}` }
  if (opts.nat === true) {
    try { await run('iptables', ['--version']) } catch (err) { return `a NAT router needs iptables: ${errorMessage(err)}` }
  }
  return undefined
}

/**
 * Cuts every link between a node of `a` and a node of `b` (names), both ways: packets between
 * them are dropped silently, connections stall as on a failed network. Needs a devnet in namespaces.
 */
export async function devnetCut (dirIn: string, a: string[], b: string[]): Promise<Array<[string, string]>> {
  const state = await requireDevnet(dirIn)
  if (state.netns == null) throw new NodeError('ERR_DEVNET_NETNS', 'links can be cut only in a devnet started with --netns')
  const made: Array<[string, string]> = []
  for (const x of a.map((name) => findNode(state, name))) {
    for (const y of b.map((name) => findNode(state, name))) {
      if (x === y || state.netns.cuts.some(([p, q]) => (p === x.name && q === y.name) || (p === y.name && q === x.name))) continue
      await run('ip', ['-n', x.netns!, 'route', 'add', 'blackhole', `${y.ip!}/32`])
      await run('ip', ['-n', y.netns!, 'route', 'add', 'blackhole', `${x.ip!}/32`])
      state.netns.cuts.push([x.name, y.name])
      made.push([x.name, y.name])
    }
  }
  await saveDevnet(state)
  return made
}

/** Cuts the devnet into groups: every node in no group forms one more group of its own. */
export async function devnetPartition (dirIn: string, groups: string[][]): Promise<void> {
  const state = await requireDevnet(dirIn)
  const listed = new Set(groups.flat())
  const all = [...groups, state.nodes.map((n) => n.name).filter((n) => !listed.has(n))].filter((g) => g.length > 0)
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) await devnetCut(dirIn, all[i], all[j])
}

/** Restores every link cut. */
export async function devnetHeal (dirIn: string): Promise<number> {
  const state = await requireDevnet(dirIn)
  if (state.netns == null) throw new NodeError('ERR_DEVNET_NETNS', 'links can be healed only in a devnet started with --netns')
  let healed = 0
  for (const [p, q] of state.netns.cuts) {
    const x = findNode(state, p)
    const y = findNode(state, q)
    await run('ip', ['-n', x.netns!, 'route', 'del', 'blackhole', `${y.ip!}/32`]).catch(() => {})
    await run('ip', ['-n', y.netns!, 'route', 'del', 'blackhole', `${x.ip!}/32`]).catch(() => {})
    healed++
  }
  state.netns.cuts = []
  await saveDevnet(state)
  return healed
}

