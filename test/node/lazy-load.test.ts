// A daemon loads only what its roles use: the command line (which builds every command, `souk
// node start` among them), the daemon and the node's composition import neither container
// runtime client; those load when a provider configured for one starts (src/node/create-node.ts),
// and a running validator or tenant never asks for them. The Docker and Kubernetes builders load
// neither client either.
import { registerHooks } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const CLIENTS = ['dockerode', '@kubernetes/client-node']
/** every bare package specifier resolved, with the module that asked for it */
const loaded: Array<{ pkg: string, by: string }> = []
registerHooks({
  resolve (specifier, context, next) {
    if (!specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.startsWith('file:')) loaded.push({ pkg: specifier, by: context.parentURL ?? '' })
    return next(specifier, context)
  }
})

const clientsLoaded = (): string[] => loaded.filter((l) => CLIENTS.some((c) => l.pkg === c || l.pkg.startsWith(`${c}/`))).map((l) => `${l.pkg} (imported by ${l.by.replace(/^.*\/src\//, 'src/')})`)

test('the command line, the daemon and the node load no container runtime client', async () => {
  const { buildProgram } = await import('../../src/cli/main.ts')
  await buildProgram()
  await import('../../src/node/daemon.ts')
  await import('../../src/node/create-node.ts')
  assert.ok(loaded.some((l) => l.pkg === 'libp2p'), 'the hook sees the packages the node loads')
  assert.equal(clientsLoaded(), [])
})

test('the Docker and Kubernetes builders load no client', async () => {
  await import('../../src/runtime/docker-spec.ts')
  await import('../../src/runtime/kubernetes-objects.ts')
  await import('../../src/runtime/inventory.ts')
  assert.equal(clientsLoaded(), [])
})

test('a validator and a tenant, started, load no container runtime client', async () => {
  const { createNode } = await import('../../src/node/create-node.ts')
  const { genesisCommitteeFile } = await import('../../src/committee/index.ts')
  const { generateIdentity } = await import('../../src/identity/index.ts')
  const { createLogger } = await import('../../src/node/logger.ts')
  const { testConfig } = await import('../helpers/network.ts')
  const root = mkdtempSync(join(tmpdir(), 'souk-lazy-'))
  const identity = generateIdentity()
  const committee = [genesisCommitteeFile([identity])]
  const logger = createLogger({ level: 'error', destination: process.stderr })
  try {
    const validator = await createNode({ home: join(root, 'v'), config: testConfig(['validator']), identity, committee, logger })
    const tenant = await createNode({ home: join(root, 't'), config: testConfig(['tenant'], validator.net.multiaddrs().slice(0, 1)), committee, logger })
    assert.equal(tenant.config.roles, ['tenant'])
    await tenant.stop()
    await validator.stop()
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
  assert.equal(clientsLoaded(), [])
})

test('the runtimes themselves do, when a provider asks for them', async () => {
  await import('../../src/runtime/docker.ts')
  assert.ok(clientsLoaded().some((l) => l.startsWith('dockerode')))
})

test.run()
