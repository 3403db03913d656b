// GPUs are offered only when the runtime can attach them. The H100 is real nvidia-smi output
// (test/fixtures/gpu/); the Docker engine is the real test engine, which has no NVIDIA runtime.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as k8s from '@kubernetes/client-node'
import { Node } from 'kubernetes-models/v1/Node'
import {
  detectNvidiaGpus, dockerGpuSupport, kubernetesGpuSupport, checkDockerGpuSupport, checkKubernetesGpuSupport,
  gpusToOffer, hostCapacity, inventory, InsufficientResourcesError
} from '../../src/runtime/index.ts'
import { dockerFromEnv } from '../helpers/docker.ts'

const GiB = 1024 ** 3
const fixture = new URL('../fixtures/gpu/nvidia-smi-q.xml', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'souk-gpu-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

/** an nvidia-smi that prints the real H100 host's output */
function fakeNvidiaSmi (): string {
  const bin = join(dir, 'nvidia-smi')
  writeFileSync(bin, `#!/bin/sh\n[ "$1" = "-q" ] && [ "$2" = "-x" ] && exec cat ${JSON.stringify(fixture)}\nexit 9\n`)
  chmodSync(bin, 0o755)
  return bin
}

const h100Order = [{ resources: { cpu: 1000, memory: GiB, storage: [], gpu: { units: 1, models: [{ vendor: 'nvidia', model: 'h100' }] } } as any, count: 1 }]

test('an engine without the NVIDIA runtime: the H100 is left out, saying why, and a GPU order does not fit', async () => {
  const docker = dockerFromEnv()
  const detected = await detectNvidiaGpus({ binary: fakeNvidiaSmi() })
  assert.is(detected.length, 1)
  assert.is(detected[0].model, 'h100')
  const endpoint = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'
  // the real engine when there is one; otherwise what `docker info` says on an engine without GPUs
  const support = docker != null
    ? await checkDockerGpuSupport(docker, endpoint)
    : dockerGpuSupport({ Runtimes: { runc: { path: 'runc' } }, CDISpecDirs: ['/etc/cdi', '/var/run/cdi'], DiscoveredDevices: [] }, endpoint)
  assert.is(support.attach, undefined)
  assert.match(support.reason, /no nvidia runtime/)
  assert.ok(support.reason.includes(endpoint), support.reason)
  const offer = gpusToOffer(detected, support)
  assert.equal(offer.gpus, [])
  assert.match(offer.reason!, /1 GPU found by nvidia-smi \(h100\) left out of the inventory/)
  assert.match(offer.reason!, /nvidia-ctk/)

  const inv = inventory({ capacity: await hostCapacity({ dataDir: dir, gpus: offer.gpus, override: { cpu: 8000, memory: 32 * GiB } }) })
  const r = inv.reserve('order-1', h100Order)
  assert.instance(r, InsufficientResourcesError)
  // and before the check, the same host offered it
  const before = inventory({ capacity: await hostCapacity({ dataDir: dir, gpus: detected, override: { cpu: 8000, memory: 32 * GiB } }) })
  assert.not.instance(before.reserve('order-1', h100Order), InsufficientResourcesError)
})

test('an engine with the nvidia runtime, or NVIDIA CDI devices, attaches them', () => {
  const rt = dockerGpuSupport({ Runtimes: { runc: {}, nvidia: { path: 'nvidia-container-runtime' } } })
  assert.is(rt.attach, 'nvidia-runtime')
  const cdi = dockerGpuSupport({ Runtimes: { runc: {} }, DiscoveredDevices: [{ Source: 'cdi', ID: 'nvidia.com/gpu=0' }, { Source: 'cdi', ID: 'nvidia.com/gpu=all' }] })
  assert.is(cdi.attach, 'cdi')
  assert.is(cdi.devices, 1)
  const gpus = [{ index: 0, model: 'h100' }, { index: 1, model: 'h100' }] as any
  assert.is(gpusToOffer(gpus, rt).gpus.length, 2)
  const capped = gpusToOffer(gpus, cdi)
  assert.is(capped.gpus.length, 1)
  assert.match(capped.reason!, /2 GPUs found by nvidia-smi, 1 attachable/)
})

test('an engine that does not answer attaches nothing and says where it asked', async () => {
  const { dockerClient } = await import('../../src/runtime/index.ts')
  const s = await checkDockerGpuSupport(dockerClient(`unix://${join(dir, 'no-engine.sock')}`), `unix://${join(dir, 'no-engine.sock')}`)
  assert.is(s.attach, undefined)
  assert.match(s.reason, /no-engine\.sock did not answer/)
})

/** a NodeList as the API server answers it, each Node checked against the Kubernetes schema */
async function nodesServer (nodes: unknown[]): Promise<{ kc: k8s.KubeConfig, close: () => Promise<void> }> {
  const items = nodes.map((n) => { const m = new Node(n as any); m.validate(); return m.toJSON() })
  const srv = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/api/v1/nodes') === true) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items }))
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }))
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const kc = new k8s.KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x'
  })
  return { kc, close: async () => { await new Promise<void>((resolve) => srv.close(() => resolve())) } }
}

const node = (name: string, allocatable: Record<string, string>): unknown => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { allocatable, capacity: allocatable } })

test('Kubernetes: nodes with allocatable nvidia.com/gpu attach GPUs; a cluster without them does not', async () => {
  const gpu = await nodesServer([node('cpu-1', { cpu: '16', memory: '64Gi' }), node('gpu-1', { cpu: '32', memory: '256Gi', 'nvidia.com/gpu': '4' })])
  try {
    const s = await checkKubernetesGpuSupport(gpu.kc)
    assert.is(s.attach, 'device-plugin')
    assert.is(s.devices, 4)
    assert.match(s.reason, /gpu-1: 4/)
  } finally { await gpu.close() }
  const none = await nodesServer([node('cpu-1', { cpu: '16', memory: '64Gi' })])
  try {
    const s = await checkKubernetesGpuSupport(none.kc)
    assert.is(s.attach, undefined)
    assert.match(s.reason, /no node of the cluster \(1 node\) has allocatable nvidia\.com\/gpu/)
  } finally { await none.close() }
  assert.is(kubernetesGpuSupport([]).attach, undefined)
})

test.run()
