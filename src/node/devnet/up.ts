// `souk devnet up`: keys, a genesis committee, a home and souk.yaml per node, then every daemon
// started and waited for until the nodes see each other.
import { randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { generateIdentity, encodeKeyFile, writeSecretFile, keyFilePath } from '../../identity/index.ts'
import type { Identity } from '../../identity/index.ts'
import { CONFIG_FILE } from '../../config/index.ts'
import { dockerClient } from '../../runtime/docker-client.ts'
import { genesisCommitteeFile } from '../../committee/index.ts'
import { wanNetwork, wanProfile } from '../../net/wan/index.ts'
import { errorMessage } from '../../util/index.ts'
import { committeeJson } from '../genesis.ts'
import { ensureExampleImage } from '../test-image.ts'
import { NodeError, NodeErrorCode } from '../errors.ts'
import { NAT_SUBNET, NETNS_PORT, NETNS_SUBNET } from './constants.ts'
import { dialAddr, freePort, yamlFor } from './layout.ts'
import { buildNamespaces, netnsUnavailable } from './netns.ts'
import { alive, spawnNode, waitConnected, waitReady, waitRelayed } from './processes.ts'
import { devnetDown } from './control.ts'
import { readDevnet, saveDevnet } from './state.ts'
import type { DevnetNode, DevnetOptions, DevnetState } from './types.ts'

export async function devnetUp (dirIn: string, opts: DevnetOptions = {}): Promise<DevnetState> {
  const dir = resolve(dirIn)
  const existing = await readDevnet(dir)
  if (existing != null && existing.nodes.some((n) => alive(n.pid))) {
    throw new NodeError('ERR_DEVNET_RUNNING', `a devnet is already running in ${dir}; stop it with \`souk devnet down --dir ${dirIn}\``)
  }
  if (opts.nat === true) {
    if (opts.netns !== true) throw new NodeError(NodeErrorCode.DEVNET_NETNS, 'a provider behind NAT needs the nodes in network namespaces: add --netns')
    if ((opts.providers ?? 2) < 1) throw new NodeError(NodeErrorCode.DEVNET_NETNS, 'a provider behind NAT needs at least one provider')
  }
  if (opts.netns === true) {
    const why = await netnsUnavailable({ nat: opts.nat })
    if (why != null) throw new NodeError(NodeErrorCode.DEVNET_NETNS, `cannot place the nodes in network namespaces: ${why}`)
  }
  if (opts.wan != null) {
    const seed = opts.wan.seed ?? 1
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new NodeError(NodeErrorCode.DEVNET_WAN, `the WAN seed must be a whole number from 0 to 4294967295, not ${String(opts.wan.seed)}`)
    try { wanProfile(opts.wan.profile) } catch (err) { throw new NodeError(NodeErrorCode.DEVNET_WAN, errorMessage(err)) }
  }
  const dockerHost = opts.dockerHost ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
  const d = dockerClient(dockerHost)
  try {
    await d.ping()
  } catch {
    throw new NodeError('ERR_NO_DOCKER', `no Docker engine answers at ${dockerHost}; start one or set DOCKER_HOST`)
  }
  const built = await ensureExampleImage(d)
  opts.onProgress?.({ type: 'devnet:image', detail: { image: 'souk/busybox:latest', built: built === 'built' } })

  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const plan: Array<{ name: string, role: DevnetNode['role'], id: Identity }> = []
  for (let i = 0; i < (opts.validators ?? 4); i++) plan.push({ name: `validator-${i}`, role: 'validator', id: generateIdentity() })
  for (let i = 0; i < (opts.providers ?? 2); i++) plan.push({ name: `provider-${i}`, role: 'provider', id: generateIdentity() })
  plan.push({ name: 'tenant', role: 'tenant', id: generateIdentity() })
  const committee = committeeJson([genesisCommitteeFile(plan.filter((p) => p.role === 'validator').map((p) => p.id))])

  const tag = randomBytes(2).toString('hex')
  const nodes: DevnetNode[] = []
  for (const [i, p] of plan.entries()) {
    const peerId = p.id.peerId.toString()
    nodes.push({
      name: p.name,
      role: p.role,
      home: join(dir, p.name === 'tenant' ? 'tenant' : p.name),
      peerId,
      port: opts.netns === true ? NETNS_PORT : await freePort(),
      owner: p.role === 'provider' ? `souk-${peerId.slice(-12)}` : undefined,
      ...(opts.netns === true ? { netns: `souk-${tag}-${i}`, ip: `${NETNS_SUBNET}.${i + 2}` } : {})
    })
  }
  if (opts.nat === true) {
    // the last provider goes behind the router; validator-0 relays for it
    const natted = nodes.filter((n) => n.role === 'provider').at(-1)!
    natted.natted = true
    natted.ip = `${NAT_SUBNET}.2`
    nodes.find((n) => n.role === 'validator')!.relay = true
  }
  const wan = opts.wan != null
    ? wanNetwork({ profile: opts.wan.profile, seed: opts.wan.seed, nodes: nodes.map((n) => ({ name: n.name, host: n.ip ?? '127.0.0.1', port: n.port })) })
    : undefined
  for (const n of nodes) if (wan != null) n.region = wan.settingsFor(n.name).region
  const validators = nodes.filter((n) => n.role === 'validator')
  for (const [i, n] of nodes.entries()) {
    await mkdir(n.home, { recursive: true, mode: 0o700 })
    await writeSecretFile(keyFilePath(n.home), encodeKeyFile(plan[i].id))
    await writeFile(join(n.home, 'committee.json'), committee)
    const bootstrap = validators.filter((v) => v !== n).slice(0, 2).map(dialAddr)
    const relay = n.natted === true ? nodes.find((x) => x.relay === true) : undefined
    await writeFile(join(n.home, CONFIG_FILE), yamlFor(n, bootstrap, validators.filter((v) => v !== n).map(dialAddr), {
      bidWindowMs: opts.bidWindowMs ?? 1000,
      dockerHost,
      settings: opts.settings,
      wan: wan?.settingsFor(n.name),
      ...(relay != null ? { reserveOn: dialAddr(relay) } : {}),
      // a provider in a namespace of its own cannot reach the host's DOCKER-USER chain, where the
      // lease firewall goes (docs/provider-docker.md): its containers run without it
      firewallOff: opts.netns === true && n.role === 'provider'
    }), { mode: 0o600 })
  }
  const state: DevnetState = {
    dir,
    createdAt: Date.now(),
    nodes,
    dockerHost,
    ...(opts.crashPoints === true ? { crashPoints: true } : {}),
    ...(opts.nodeFlags != null && opts.nodeFlags.length > 0 ? { nodeFlags: [...opts.nodeFlags] } : {}),
    ...(opts.netns === true ? { netns: { tag, hub: `souk-${tag}-hub`, cuts: [], ...(opts.nat === true ? { router: `souk-${tag}-nat` } : {}) } } : {}),
    ...(wan != null ? { wan: { profile: wan.profile, seed: wan.seed } } : {})
  }
  await saveDevnet(state)

  try {
    if (state.netns != null) await buildNamespaces(state)
    for (const n of nodes) {
      await spawnNode(state, n)
      await saveDevnet(state)
    }
    for (const n of nodes) {
      await waitReady(n, opts.signal)
      opts.onProgress?.({ type: 'devnet:node-started', detail: { name: n.name, peerId: n.peerId } })
    }
    await waitConnected(nodes, opts.signal)
    for (const n of nodes) if (n.natted === true) await waitRelayed(n, opts.signal)
  } catch (err) {
    await devnetDown(dir).catch(() => {})
    throw err
  }
  opts.onProgress?.({ type: 'devnet:ready', detail: { nodes: nodes.length } })
  return state
}

