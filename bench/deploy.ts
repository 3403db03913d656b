// Manifest accepted → container serving, on the local Docker engine, through the provider's real
// lease path (hash and order checks, runtime deploy, published port). Docker's share is the time
// spent inside its container create and start calls; souk's share is the rest.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { providerLeases } from '../src/market/provider-leases.ts'
import { buildOrder } from '../src/market/order-builder.ts'
import { loadSdl, canonicalManifestBytes } from '../src/sdl/index.ts'
import { dockerRuntime, dockerClient } from '../src/runtime/index.ts'
import { ensureExampleImage, EXAMPLE_IMAGE } from '../src/node/test-image.ts'
import { generateIdentity } from '../src/identity/index.ts'
import { signMessage, MessageTag } from '../src/wire/index.ts'

const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.split('=')[1] ?? 20)
if (process.env.DOCKER_HOST == null) {
  process.stderr.write('bench:deploy needs a Docker engine: set DOCKER_HOST (see .ci/run)\n')
  process.exit(1)
}

// a new engine has no example image yet: build it as `souk devnet up` does
try {
  if (await ensureExampleImage(dockerClient(process.env.DOCKER_HOST)) === 'built') process.stdout.write(`built ${EXAMPLE_IMAGE}\n`)
} catch (err: any) {
  process.stderr.write(`bench:deploy: ${String(err?.message ?? err)}\n`)
  process.exit(1)
}

const tenant = generateIdentity()
const provider = generateIdentity()
const text = readFileSync(new URL('../examples/web.yaml', import.meta.url), 'utf8')
let dockerMs = 0
const runtime = dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance: `souk-bench-${randomBytes(3).toString('hex')}`, pull: 'never' })({
  onDockerCall: (name, ms) => { if (name === 'container.create' || name === 'container.start') dockerMs += ms }
})
const leases = providerLeases({ manifestTimeoutMs: 60_000 })({ signer: provider, runtime })

const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] }
const total: number[] = []
const docker: number[] = []

for (let i = 0; i < runs; i++) {
  const loaded = loadSdl(text.replace('GREETING=hello', `GREETING=run-${i}`))
  const order = signMessage(tenant, MessageTag.ORDER, buildOrder(loaded, { bidWindowMs: 1000, now: Date.now() }))
  const bid = signMessage(provider, MessageTag.BID, { order: order.id, prices: [{ denom: 'uakt', amount: '50' }], attributes: { region: 'local' }, auditors: [], expiresAt: Date.now() + 60_000 })
  leases.leaseWon(order, bid)
  const manifest = canonicalManifestBytes(loaded.manifest)
  dockerMs = 0
  const t0 = performance.now()
  const deployed = await leases.handleManifest(tenant.peerId.toString(), { lease: order.id, manifest, sequence: 0 })
  const url = deployed.services[0].urls[0].url
  let served = false
  for (let k = 0; k < 500 && !served; k++) {
    served = await fetch(url).then((r) => r.ok).catch(() => false)
    if (!served) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const ms = performance.now() - t0
  if (!served) throw new Error(`run ${i}: ${url} never answered`)
  total.push(ms)
  docker.push(dockerMs)
  process.stdout.write(`run ${i + 1}/${runs}: ${ms.toFixed(0)} ms (docker create+start ${dockerMs.toFixed(0)} ms)\n`)
  await leases.close(order.idHex, 'benchmark run done')
}
leases.stop()
const overhead = total.map((t, i) => t - docker[i])
process.stdout.write(`deploy runs=${runs} p50_ms=${pct(total, 0.5).toFixed(0)} docker_p50_ms=${pct(docker, 0.5).toFixed(0)} souk_overhead_p50_ms=${pct(overhead, 0.5).toFixed(0)}\n`)
