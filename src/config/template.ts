import type { Role } from './config.ts'

/** A commented souk.yaml for the given roles: what `souk node init` writes. */
export function configTemplate (roles: Role[], opts: { listenPort?: number, bootstrap?: string[] } = {}): string {
  const port = opts.listenPort ?? 0
  const lines = [
    '# souk node configuration. Precedence: this file < SOUK_* environment variables < --set path=value.',
    '# Every setting is optional; the values shown are the defaults unless noted.',
    '',
    '# what this node does: tenant (deploys), provider (runs containers), validator (committee member)',
    `roles: [${roles.join(', ')}]`,
    '',
    'network:',
    '  # libp2p listen addresses (tcp and websockets); port 0 picks a free port',
    `  listen: [/ip4/127.0.0.1/tcp/${port}]`,
    '  # addresses to announce instead of the listen addresses (e.g. a public IP)',
    '  announce: []',
    '  # multiaddrs of peers to join the network through (with /p2p/<peer id>)',
    `  bootstrap: [${(opts.bootstrap ?? []).join(', ')}]`,
    '  # find peers on the local network',
    '  mdns: false',
    '  # let peers behind NAT reserve a relay slot here',
    '  relayServer: false',
    '  # per relayed connection: bytes and ms before the relay closes it (0: no limit); a manifest can be 1 MiB',
    '  relayCircuitDataLimit: 16777216',
    '  relayCircuitDurationMs: 600000',
    '  # behind NAT: relays (multiaddrs with /p2p/<peer id>) to reserve a slot on, to be reachable through them',
    '  relayReserveOn: []',
    '  # one machine or a LAN: keep loopback and private addresses in the DHT',
    '  testNetwork: false',
    '',
    'committee:',
    '  # the committee file chain (genesis first), relative to the node home; every role checks leases with it',
    '  file: committee.json',
    '  # how often the committee orders a batch, ms',
    '  batchIntervalMs: 100',
    '  # the shorter pause when a bid deadline is due, ms',
    '  minBatchIntervalMs: 40',
    '  # the pause when there is nothing to order (new work ends it early), ms',
    '  idleBatchIntervalMs: 5000',
    '',
    'api:',
    '  # Prometheus /metrics on loopback; 0 picks a free port (see `souk node status`)',
    '  metricsHost: 127.0.0.1',
    '  metricsPort: 0',
    '',
    'log:',
    '  level: info',
    ''
  ]
  if (roles.includes('tenant')) {
    lines.push(
      'tenant:',
      '  # how long providers have to bid on an order, in ms',
      '  bidWindowMs: 2000',
      '  # how long after the bid window to wait for the committee to decide, in ms',
      '  decisionTimeoutMs: 30000',
      ''
    )
  }
  if (roles.includes('provider')) {
    lines.push(
      'provider:',
      '  # docker (default) or kubernetes',
      '  runtime: docker',
      '  dockerHost: unix:///var/run/docker.sock',
      '  # host address that published ports bind to; service URLs use it',
      '  publishHost: 127.0.0.1',
      '  # for runtime: kubernetes',
      '  kubeconfig: ""',
      '  # attributes tenants can require in profiles.placement.attributes',
      '  attributes:',
      '    region: local',
      '  # capacity offered; 0 reads it from the host. cpu in millicpu, memory and storage in bytes',
      '  cpu: 0',
      '  memory: 0',
      '  storage: 0',
      '  cpuOvercommit: 1',
      '  memoryOvercommit: 1',
      '  # price table (see docs/provider.md): per cpu, per GiB memory, per GiB storage, per GPU, per global endpoint',
      '  denom: uakt',
      '  prices: { cpu: "1", memory: "1", storage: "0.1", gpu: "100", endpoint: "0" }',
      '  # or an external pricing program: the order as JSON on stdin, a price on stdout',
      '  pricingScript: ""',
      '  # a lease whose manifest does not arrive in this many ms is closed',
      '  manifestTimeoutMs: 60000',
      '  # signed usage statements (time × agreed price) go to the tenant this often, ms',
      '  usageIntervalMs: 60000',
      '  # a lease whose statements the tenant leaves unanswered this long is closed, ms',
      '  usageGraceMs: 300000',
      ''
    )
  }
  return lines.join('\n')
}
