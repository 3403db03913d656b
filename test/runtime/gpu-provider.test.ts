// A provider whose engine has no GPU runtime offers no GPUs, with nvidia-smi reporting the real
// H100 of test/fixtures/gpu/: the provider role passes what nvidia-smi finds through gpusToOffer
// (src/runtime/gpu-support.ts) before it builds its inventory.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode } from '../../src/node/create-node.ts'
import { genesisCommitteeFile } from '../../src/committee/index.ts'
import { createLogger } from '../../src/node/logger.ts'
import { defaultConfig } from '../../src/config/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { dockerRuntime } from '../../src/runtime/index.ts'
import { healthMonitor } from '../../src/node/health.ts'
import type { HealthCheck } from '../../src/node/health.ts'
import type { Souk } from '../../src/node/create-node.ts'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'

const docker = dockerFromEnv()

if (docker == null) {
  skipNotice('test/runtime/gpu-provider.test.ts')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'souk-gpu-provider-'))
  const fixture = new URL('../fixtures/gpu/nvidia-smi-q.xml', import.meta.url).pathname
  writeFileSync(join(dir, 'nvidia-smi'), `#!/bin/sh\n[ "$1" = "-q" ] && exec cat ${JSON.stringify(fixture)}\nexit 9\n`)
  chmodSync(join(dir, 'nvidia-smi'), 0o755)
  // the provider runs `nvidia-smi` from PATH, as on a GPU host
  process.env.PATH = `${dir}:${process.env.PATH ?? ''}`

  test.after(() => rmSync(dir, { recursive: true, force: true }))

  async function provider (): Promise<{ node: Souk, gpu: HealthCheck }> {
    const c = defaultConfig()
    c.roles = ['provider']
    c.network.listen = ['/ip4/127.0.0.1/tcp/0']
    c.network.testNetwork = true
    c.provider.dockerHost = process.env.DOCKER_HOST!
    const node = await createNode({
      home: join(dir, `p${Math.random().toString(16).slice(2)}`),
      config: c,
      committee: [genesisCommitteeFile([generateIdentity()])],
      logger: createLogger({ level: 'error', destination: process.stderr }),
      runtime: dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance: 'souk-gpu-provider-test', pull: 'never' })({})
    })
    const health = healthMonitor(node, { intervalMs: 0 })
    const gpu = (await health.check()).checks.find((x) => x.name === 'gpu')!
    health.stop()
    return { node, gpu }
  }

  test('the engine has no NVIDIA runtime: the provider offers no GPU, and node status says why', async () => {
    const { node, gpu } = await provider()
    try {
      assert.equal(node.provider!.inventory.capacity().gpus, [])
      assert.is(gpu.status, 'warn')
      assert.match(gpu.detail, /1 GPU found by nvidia-smi, none offered: .*no nvidia runtime/)
    } finally { await node.stop() }
  })

  test.run()
}
