// Embedding souk: a tenant node inside your own program. It joins a running network (for
// example `souk devnet up`), deploys a deployment file, prints the service URLs and closes
// the lease. Run it with: node examples/library.ts DEVNET_DIR
import { mkdtempSync, readFileSync, copyFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode, defaultConfig } from 'souk'

const devnet = process.argv[2] ?? './.souk-devnet'
const home = mkdtempSync(join(tmpdir(), 'souk-embedded-'))
// the committee file lets this node check every lease certificate offline
copyFileSync(join(devnet, 'tenant', 'committee.json'), join(home, 'committee.json'))
const devnetState = JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8'))
const validator = devnetState.nodes.find((n: any) => n.role === 'validator')

const config = defaultConfig()
config.roles = ['tenant']
config.network.bootstrap = [`/ip4/127.0.0.1/tcp/${validator.port}/p2p/${validator.peerId}`]
config.network.testNetwork = true
config.tenant.bidWindowMs = 1000

const node = await createNode({ home, config })
try {
  // give gossip a moment to find its mesh
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const sdl = readFileSync(new URL('./web.yaml', import.meta.url), 'utf8')
  const deployment = await node.tenant!.deploy(sdl, {
    onProgress: (e) => console.log(e.type, JSON.stringify(e.detail))
  })
  for (const s of deployment.services ?? []) console.log(`${s.name}: ${s.urls.join(' ')}`)
  await node.tenant!.close(deployment.order, 'example finished')
} finally {
  await node.stop()
  rmSync(home, { recursive: true, force: true })
}
