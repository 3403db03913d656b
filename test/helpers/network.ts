// The in-process network the node tests build: every node on loopback in the test network, a
// committee of validators started first, the first one the others' bootstrap.
import { join } from 'node:path'
import { createNode } from '../../src/node/create-node.ts'
import type { Souk } from '../../src/node/create-node.ts'
import { defaultConfig } from '../../src/config/index.ts'
import type { SoukConfig, Role } from '../../src/config/index.ts'
import type { Identity } from '../../src/identity/index.ts'
import type { CommitteeFile } from '../../src/committee/index.ts'
import type { Logger } from '../../src/node/logger.ts'

/** a node of the test network, on a free loopback port (the defaults' listen address) */
export function testConfig (roles: Role[], bootstrap: string[] = []): SoukConfig {
  const c = defaultConfig()
  c.roles = roles
  c.network.bootstrap = bootstrap
  c.network.testNetwork = true
  c.log.level = 'warn'
  return c
}

/** testConfig with a short bid window and a provider's prices and region, for deployments end to end */
export function marketConfig (roles: Role[], bootstrap: string[] = []): SoukConfig {
  const c = testConfig(roles, bootstrap)
  c.tenant.bidWindowMs = 1500
  c.provider.attributes = { region: 'local' }
  c.provider.prices = { cpu: '100', memory: '10', storage: '1', gpu: '1000', endpoint: '0' }
  return c
}

/** Starts one validator node per identity under `root` (v0, v1, …); `boot` is v0's address. */
export async function startValidators (o: { root: string, identities: Identity[], committee: CommitteeFile[], logger: Logger, config: (roles: Role[], bootstrap: string[]) => SoukConfig }): Promise<{ nodes: Souk[], boot: string[] }> {
  const nodes: Souk[] = []
  let boot: string[] = []
  for (const [i, identity] of o.identities.entries()) {
    nodes.push(await createNode({ home: join(o.root, `v${i}`), config: o.config(['validator'], boot), identity, committee: o.committee, logger: o.logger }))
    if (i === 0) boot = nodes[0].net.multiaddrs().slice(0, 1)
  }
  return { nodes, boot }
}
