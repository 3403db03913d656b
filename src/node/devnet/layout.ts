// Where each node listens and what its souk.yaml says.
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { WanSettings } from '../../net/wan/index.ts'
import type { DevnetNode, DevnetOptions } from './types.ts'

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)) })
  })
}

export const listenAddr = (n: DevnetNode): string => n.ip != null ? `/ip4/${n.ip}/tcp/${n.port}` : `/ip4/127.0.0.1/tcp/${n.port}`
export const dialAddr = (n: DevnetNode): string => `${listenAddr(n)}/p2p/${n.peerId}`

function wanYaml (w: WanSettings): string[] {
  const peers = Object.entries(w.peers).map(([k, r]) => `${JSON.stringify(k)}: ${r}`).join(', ')
  return ['  wan:', `    profile: ${w.profile}`, `    seed: ${w.seed}`, `    region: ${w.region}`, `    peers: { ${peers} }`]
}

export interface YamlOptions extends Required<Pick<DevnetOptions, 'bidWindowMs' | 'dockerHost'>>, Pick<DevnetOptions, 'settings'> {
  wan?: WanSettings
  /** the relay a node behind NAT reserves a slot on */
  reserveOn?: string
  /** a provider whose containers run without the lease firewall (unless the settings name a sandbox) */
  firewallOff?: boolean
}

export function yamlFor (n: DevnetNode, bootstrap: string[], directPeers: string[], o: YamlOptions): string {
  const extra = (role: 'validator' | 'provider' | 'tenant'): string[] => Object.entries(o.settings?.[role] ?? {}).map(([k, v]) => `  ${k}: ${String(v)}`)
  const lines = [
    '# written by `souk devnet up`',
    `roles: [${n.role}]`,
    'network:',
    `  listen: [${listenAddr(n)}]`,
    `  bootstrap: [${bootstrap.join(', ')}]`,
    '  testNetwork: true',
    `  directPeers: [${n.role === 'validator' ? directPeers.join(', ') : ''}]`,
    ...(n.relay === true ? ['  relayServer: true'] : []),
    ...(o.reserveOn != null ? [`  relayReserveOn: [${o.reserveOn}]`] : []),
    ...(o.wan != null ? wanYaml(o.wan) : []),
    'committee:',
    '  file: committee.json',
    ...(n.role === 'validator' ? extra('validator') : []),
    'log:',
    '  level: info',
    'tenant:',
    `  bidWindowMs: ${o.bidWindowMs}`,
    ...(n.role === 'tenant' ? extra('tenant') : [])
  ]
  if (n.role === 'provider') {
    lines.push(
      'provider:',
      '  runtime: docker',
      `  dockerHost: ${o.dockerHost}`,
      '  publishHost: 127.0.0.1',
      '  attributes: { region: local }',
      '  prices: { cpu: "10", memory: "1", storage: "0.1", gpu: "100", endpoint: "0" }',
      '  denom: uakt',
      ...(o.firewallOff === true && o.settings?.provider?.sandbox == null ? ['  sandbox: { firewall: off }'] : []),
      ...extra('provider')
    )
  }
  return lines.join('\n') + '\n'
}

