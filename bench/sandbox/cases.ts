// Hostile deployments against the real Docker engine, through the provider's real lease path:
// each is refused (nothing runs), or runs and is contained. Shared by `npm run sandbox` and the
// CI test (test/runtime/sandbox.test.ts).
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { providerLeases, LeaseRefusedError } from '../../src/market/provider-leases.ts'
import { bidEngine } from '../../src/market/index.ts'
import { dockerRuntime, dockerClient, inventory, networkName, privateMarker, storeImages, chainNames, unenforcedKinds, LABEL_LEASE, LABEL_INSTANCE } from '../../src/runtime/index.ts'
import type { DockerRuntime, SandboxReport } from '../../src/runtime/index.ts'
import { canonicalJson } from '../../src/sdl/index.ts'
import type { Manifest, ServiceManifest, StorageSpec } from '../../src/sdl/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { signMessage, MessageTag, sha256 } from '../../src/wire/index.ts'
import type { OrderBody } from '../../src/wire/index.ts'
import { createWorld, HOST_PAGE, WORLD_PAGE } from './world.ts'
import type { SandboxWorld } from './world.ts'

export type Outcome = 'refused' | 'contained' | 'escaped' | 'failed'

export interface CaseResult {
  name: string
  /** refused: nothing ran; contained: it ran and was held; escaped: it got what it must not; failed: the check itself could not tell */
  outcome: Outcome
  detail: string
  /** time since the previous case ended */
  ms: number
}

export interface SandboxRunOptions {
  ociRuntime: string
  /** `off` shows what the cases do without souk's firewall (they must then escape) */
  firewall?: 'iptables' | 'off'
  /** without a volume store, volumes are unsized (the volume case must then escape) */
  volumeStore?: boolean
  /** case names (substrings) to run; all by default */
  only?: string[]
  onResult?: (r: CaseResult) => void
}

const MiB = 1024 * 1024
const IMAGE = process.env.SOUK_TEST_IMAGE ?? 'souk/busybox:latest'
const PIDS_LIMIT = 128

function svc (name: string, over: Partial<ServiceManifest> = {}): ServiceManifest {
  return {
    name,
    image: IMAGE,
    env: [],
    expose: [],
    storage: {},
    profile: name,
    resources: { cpu: 100, memory: 32 * MiB, storage: [], gpu: { units: 0, models: [] } },
    count: 1,
    ...over
  }
}

function web (name: string): ServiceManifest {
  return svc(name, { command: ['sh', '-c'], args: [`mkdir -p /srv && echo ${name}-page > /srv/index.html && exec httpd -f -p 8080 -h /srv`], expose: [{ port: 8080, as: 8080, proto: 'tcp', to: [{ global: true }], accept: [] }] })
}

function manifestOf (...services: ServiceManifest[]): Manifest {
  return { version: '2.0', groups: [{ name: 'sbx', services }], endpoints: {} }
}

/** what the tenant's order asks for: by default exactly the manifest (an honest order) */
function orderOf (m: Manifest, bytes: Uint8Array): OrderBody {
  return {
    groups: m.groups.map((g) => ({
      name: g.name,
      attributes: {},
      signedBy: { allOf: [], anyOf: [] },
      resources: g.services.map((s) => ({ service: s.name, cpu: s.resources.cpu, memory: s.resources.memory, storage: s.resources.storage.map((x) => ({ ...x })), gpu: s.resources.gpu, count: s.count, price: { denom: 'uakt', amount: '1' } })),
      maxPrice: { denom: 'uakt', amount: '100' }
    })),
    manifestHash: sha256(bytes),
    bidDeadline: Date.now() + 60_000
  }
}

function run (cmd: string, args: string[]): Promise<{ code: number, out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, out: `${String(stdout)}${String(stderr)}` })
    })
  })
}

async function memAvailable (): Promise<number> {
  const m = /MemAvailable:\s+(\d+) kB/.exec(await readFile('/proc/meminfo', 'utf8'))
  return Number(m?.[1] ?? 0) * 1024
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

export async function runSandbox (opts: SandboxRunOptions): Promise<{ results: CaseResult[], sandbox: SandboxReport, leftovers: string[] }> {
  const storeDir = await mkdtemp(join(tmpdir(), 'souk-sbx-volumes-'))
  try {
    return await runIn(storeDir, opts)
  } finally {
    await rm(storeDir, { recursive: true, force: true })
  }
}

async function runIn (storeDir: string, opts: SandboxRunOptions): Promise<{ results: CaseResult[], sandbox: SandboxReport, leftovers: string[] }> {
  const docker: Docker = dockerClient(process.env.DOCKER_HOST)
  const instance = `souk-sbx-${randomBytes(4).toString('hex')}`
  const runtime: DockerRuntime = dockerRuntime({
    dockerHost: process.env.DOCKER_HOST,
    instance,
    pull: 'missing',
    ociRuntime: opts.ociRuntime,
    firewall: opts.firewall ?? 'iptables',
    pidsLimit: PIDS_LIMIT,
    restartPolicy: 'on-failure',
    maxRestarts: 2,
    ...(opts.volumeStore !== false ? { volumeStore: storeDir } : {})
  })({ docker })
  const tenant = generateIdentity()
  const provider = generateIdentity()
  const leases = providerLeases({ manifestTimeoutMs: 600_000 })({ signer: provider, runtime })
  const results: CaseResult[] = []
  const opened: string[] = []
  let world: SandboxWorld | undefined

  /** the tenant's order over these manifest bytes (honest unless `order` says otherwise), won by this provider */
  function lease (m: Manifest, order?: (body: OrderBody) => void, raw?: Uint8Array): { id: Uint8Array, hex: string, bytes: Uint8Array } {
    const bytes = raw ?? new TextEncoder().encode(canonicalJson(m))
    const body = orderOf(m, bytes)
    order?.(body)
    const signed = signMessage(tenant, MessageTag.ORDER, body)
    leases.leaseWon(signed, signMessage(provider, MessageTag.BID, { order: signed.id, prices: [{ denom: 'uakt', amount: '1' }], attributes: {}, auditors: [], expiresAt: Date.now() + 600_000 }))
    opened.push(signed.idHex)
    return { id: signed.id, hex: signed.idHex, bytes }
  }

  async function deploy (m: Manifest): Promise<string> {
    const l = lease(m)
    await leases.handleManifest(tenant.peerId.toString(), { lease: l.id, manifest: l.bytes, sequence: 0 })
    return l.hex
  }

  /** whether anything of a lease exists on the engine */
  async function anything (leaseHex: string): Promise<boolean> {
    const f = { label: [`${LABEL_LEASE}=${leaseHex}`] }
    return (await docker.listContainers({ all: true, filters: f })).length > 0 || (await docker.listNetworks({ filters: f })).length > 0
  }

  /** a manifest the provider must refuse before anything exists */
  async function refusedManifest (name: string, m: unknown, order: ((body: OrderBody) => void) | undefined, expect: RegExp, honest?: Manifest): Promise<void> {
    const bytes = new TextEncoder().encode(canonicalJson(m))
    const l = lease(honest ?? (m as Manifest), order, bytes)
    try {
      await leases.handleManifest(tenant.peerId.toString(), { lease: l.id, manifest: bytes, sequence: 0 })
      record(name, 'escaped', 'the provider ran it')
    } catch (err: any) {
      const made = await anything(l.hex)
      if (made) record(name, 'escaped', `refused (${String(err?.message)}) but objects were created`)
      else if (err instanceof LeaseRefusedError && expect.test(`${err.code} ${err.message}`)) record(name, 'refused', `${err.code}: ${err.message}`)
      else record(name, 'failed', `refused for another reason: ${String(err?.code)} ${String(err?.message)}`)
    }
  }

  let last = Date.now()
  function record (name: string, outcome: Outcome, detail: string): void {
    const r = { name, outcome, detail: detail.replace(/\s+/g, ' ').slice(0, 300), ms: Date.now() - last }
    last = Date.now()
    results.push(r)
    opts.onResult?.(r)
  }

  const wanted = (name: string): boolean => opts.only == null || opts.only.length === 0 || opts.only.some((o) => name.includes(o))

  async function probe (leaseHex: string, service: string, host: string, port: number, marker: string): Promise<{ reached: boolean, out: string }> {
    const h = await runtime.exec(leaseHex, { service, command: ['sh', '-c', `printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 ${host} ${port} 2>&1; echo "exit=$?"`] })
    h.stdin.end()
    let out = ''
    for await (const o of h.output) out += Buffer.from(o.data).toString()
    await h.exitCode.catch(() => -1)
    return { reached: out.includes(marker), out: out.trim() }
  }

  async function shell (leaseHex: string, service: string, script: string): Promise<string> {
    const h = await runtime.exec(leaseHex, { service, command: ['sh', '-c', script] })
    h.stdin.end()
    let out = ''
    for await (const o of h.output) out += Buffer.from(o.data).toString()
    await h.exitCode.catch(() => -1)
    return out
  }

  async function container (leaseHex: string, service: string): Promise<Docker.ContainerInspectInfo> {
    const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${leaseHex}`, `souk.service=${service}`] } })
    if (list.length === 0) throw new Error(`no container of ${service}`)
    return await docker.getContainer(list[0].Id).inspect()
  }

  const sandbox = await runtime.sandbox()
  try {
    // ---- manifests the provider refuses -------------------------------------------------------
    const honestWeb = manifestOf(svc('app', { resources: { cpu: 100, memory: 64 * MiB, storage: [{ name: 'default', size: 128 * MiB, persistent: false }, { name: 'data', size: 1024 * MiB, persistent: true, class: 'beta2' }], gpu: { units: 0, models: [] } } }))
    if (wanted('manifest: memory 0')) {
      const m = structuredClone(honestWeb) as any
      m.groups[0].services[0].resources.memory = 0
      m.groups[0].services[0].resources.storage = [{ name: 'default', size: 5e12, persistent: false, class: 'ram' }, { name: 'data', size: -(5e12 - 128 * MiB), persistent: true, class: 'beta2' }]
      await refusedManifest('manifest: memory 0, a 5 TB ram volume and a -4.999 TB volume within the order\'s totals', m, undefined, /invalid-manifest.*resources\.memory/, honestWeb)
    }
    if (wanted('manifest: a service larger')) {
      const order = manifestOf(svc('big', { resources: { cpu: 100, memory: 512 * MiB, storage: [], gpu: { units: 0, models: [] } } }), svc('small'))
      const m = structuredClone(order) as any
      m.groups[0].services[0].resources.memory = 32 * MiB
      m.groups[0].services[1].resources.memory = 512 * MiB
      await refusedManifest('manifest: a service larger than its own resource unit, the totals equal', m, undefined, /exceeds-order.*services\[1\]\.resources\.memory/, order)
    }
    if (wanted('manifest: a field')) {
      const m = structuredClone(manifestOf(svc('app'))) as any
      m.groups[0].services[0].privileged = true
      await refusedManifest('manifest: a field the manifest does not have (privileged: true)', m, undefined, /invalid-manifest.*privileged/, manifestOf(svc('app')))
    }
    if (wanted('manifest: memory as text')) {
      const m = structuredClone(manifestOf(svc('app'))) as any
      m.groups[0].services[0].resources.memory = '32Mi'
      await refusedManifest('manifest: memory as text', m, undefined, /invalid-manifest.*resources\.memory/, manifestOf(svc('app')))
    }
    for (const image of ['10.0.0.5:5000/app:latest', 'localhost:5000/app:latest', '169.254.169.254/app:latest']) {
      const name = `image from a registry on a private address (${image.split('/')[0]})`
      if (!wanted(name)) continue
      const l = lease(manifestOf(svc('app', { image })))
      try {
        await leases.handleManifest(tenant.peerId.toString(), { lease: l.id, manifest: l.bytes, sequence: 0 })
        record(name, 'escaped', 'it ran')
      } catch (err: any) {
        if (await anything(l.hex)) record(name, 'escaped', 'objects were created')
        else if (/private, loopback or link-local/.test(String(err?.message))) record(name, 'refused', String(err.message))
        else record(name, 'failed', String(err?.message))
      }
    }
    if (wanted('private image of another tenant')) {
      // as if another tenant's deployment had pulled it with its registry credentials: an image of
      // its own (a file no other image has), so no other image on the engine is marked
      const ref = `souk-sbx/private-${randomBytes(3).toString('hex')}:latest`
      const [repo, tag] = ref.split(':')
      const dir = await mkdtemp(join(tmpdir(), 'souk-sbx-image-'))
      try {
        await writeFile(join(dir, 'secret'), randomBytes(32).toString('hex'))
        await run('tar', ['-C', dir, '-cf', join(dir, 'image.tar'), 'secret'])
        const stream = await docker.importImage(join(dir, 'image.tar'), { repo, tag })
        await new Promise<void>((resolve, reject) => { docker.modem.followProgress(stream, (err: Error | null) => { if (err != null) reject(err); else resolve() }) })
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
      const marker = privateMarker(ref)
      await docker.getImage(ref).tag({ repo: marker.repo, tag: marker.tag })
      const l = lease(manifestOf(svc('app', { image: ref, command: ['sleep', '600'] })))
      try {
        await leases.handleManifest(tenant.peerId.toString(), { lease: l.id, manifest: l.bytes, sequence: 0 })
        record('private image of another tenant, asked for without credentials', 'escaped', 'it ran')
      } catch (err: any) {
        if (await anything(l.hex)) record('private image of another tenant, asked for without credentials', 'escaped', 'objects were created')
        else if (/private/.test(String(err?.message))) record('private image of another tenant, asked for without credentials', 'refused', String(err.message))
        else record('private image of another tenant, asked for without credentials', 'failed', String(err?.message))
      } finally {
        await docker.getImage(`${marker.repo}:${marker.tag}`).remove().catch(() => {})
        await docker.getImage(ref).remove().catch(() => {})
      }
    }

    // ---- resources --------------------------------------------------------------------------
    if (wanted('memory hog')) {
      const before = await memAvailable()
      // a whole cpu, so it reaches its limit soon (gVisor's sentry adds work per allocation)
      const id = await deploy(manifestOf(svc('hog', { command: ['sh', '-c', 'tail /dev/zero'], resources: { cpu: 1000, memory: 32 * MiB, storage: [], gpu: { units: 0, models: [] } } })))
      let info = await container(id, 'hog')
      for (let i = 0; i < 150 && !(info.State.OOMKilled || info.RestartCount > 0 || info.State.ExitCode === 137); i++) {
        await sleep(200)
        info = await container(id, 'hog')
      }
      const killed = info.State.OOMKilled || info.RestartCount > 0 || info.State.ExitCode === 137
      // not killed (yet): then it must be held at its limit
      let peak = 0
      if (!killed && info.State.Running) {
        const st = await docker.getContainer(info.Id).stats({ stream: false }).catch(() => undefined) as { memory_stats?: { usage?: number, max_usage?: number } } | undefined
        peak = st?.memory_stats?.max_usage ?? st?.memory_stats?.usage ?? 0
      }
      const capped = peak > 0 && peak <= 32 * MiB
      // the host's available memory is shown, not judged: other work on the machine moves it
      const drop = before - await memAvailable()
      const name = 'memory hog (tail /dev/zero, 32 MiB limit)'
      if (killed || capped) record(name, 'contained', `${killed ? 'killed at its limit' : `held at ${Math.round(peak / MiB)} MiB`} (OOMKilled ${String(info.State.OOMKilled)}, exit ${info.State.ExitCode}, restarts ${info.RestartCount}); host memory available changed by ${Math.round(drop / MiB)} MiB meanwhile`)
      else record(name, 'escaped', `neither killed nor held: peak ${Math.round(peak / MiB)} MiB of a 32 MiB limit`)
      await leases.close(id, 'done')
    }
    if (wanted('fork bomb')) {
      const id = await deploy(manifestOf(svc('bomb', { command: ['sh', '-c', 'f() { f | f & }; f; sleep 600'] })))
      await sleep(4000)
      const info = await container(id, 'bomb')
      // a loaded engine (gVisor above all) can answer a stats call before it has the pids count: ask again
      let pids = -1
      for (let i = 0; i < 10 && pids < 0; i++) {
        if (i > 0) await sleep(1000)
        const stats = await docker.getContainer(info.Id).stats({ stream: false }).catch(() => undefined) as { pids_stats?: { current?: number, limit?: number } } | undefined
        pids = stats?.pids_stats?.current ?? -1
      }
      const host = await run('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8; do true & done; wait; echo forked'])
      const capped = pids >= 0 && pids <= PIDS_LIMIT
      if (capped && host.out.includes('forked')) record(`fork bomb (pids limit ${PIDS_LIMIT})`, 'contained', `${pids} processes in the container (limit ${PIDS_LIMIT}); the host still forks`)
      else record(`fork bomb (pids limit ${PIDS_LIMIT})`, 'escaped', `${pids} processes in the container; host fork: ${host.out.trim()}`)
      await leases.close(id, 'done')
    }
    if (wanted('writing past a volume')) {
      const volume: StorageSpec = { name: 'data', size: 16 * MiB, persistent: true, class: 'beta2' }
      const id = await deploy(manifestOf(svc('disk', { command: ['sleep', '600'], resources: { cpu: 100, memory: 32 * MiB, storage: [volume], gpu: { units: 0, models: [] } }, storage: { data: { mount: '/data', readOnly: false } } })))
      // what the volume holds of the host's disk: its image, never more than the volume's size
      const volumes = (await docker.listVolumes({ filters: { label: [`${LABEL_LEASE}=${id}`] } })).Volumes ?? []
      const device = volumes.map((v) => (v.Options ?? {}).device).find((d) => d != null)
      const out = await shell(id, 'disk', 'dd if=/dev/zero of=/data/fill bs=1M count=64 2>&1; echo "size=$(wc -c < /data/fill)"')
      const image = device != null ? await stat(`${device}.img`).catch(() => undefined) : undefined
      const held = image != null ? image.blocks * 512 : Number.NaN
      const size = Number(/size=\s*(\d+)/.exec(out)?.[1] ?? -1)
      const enospc = /No space left on device/i.test(out)
      // the image's size is the volume's; what it holds of the disk may exceed that by the host file system's own bookkeeping
      if (enospc && size >= 0 && size <= 16 * MiB && image != null && image.size <= 16 * MiB && held <= image.size + MiB) {
        record('writing past a volume\'s size (16 MiB, 64 MiB written)', 'contained', `ENOSPC after ${Math.round(size / MiB)} MiB; the volume holds ${Math.round(held / MiB)} MiB of the host's disk, at most its 16 MiB`)
      } else {
        record('writing past a volume\'s size (16 MiB, 64 MiB written)', 'escaped', `wrote ${size} bytes; ${image == null ? 'an unsized volume (no image)' : `the image holds ${Math.round(held / MiB)} MiB`}: ${out.trim()}`)
      }
      await leases.close(id, 'done')
    }
    if (wanted('writing past a ram volume')) {
      const volume: StorageSpec = { name: 'shm', size: 16 * MiB, persistent: false, class: 'ram' }
      const id = await deploy(manifestOf(svc('ram', { command: ['sleep', '600'], resources: { cpu: 100, memory: 32 * MiB, storage: [volume], gpu: { units: 0, models: [] } }, storage: { shm: { mount: '/dev/shm', readOnly: false } } })))
      const out = await shell(id, 'ram', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=64 2>&1; echo "size=$(wc -c < /dev/shm/fill)"')
      const size = Number(/size=\s*(\d+)/.exec(out)?.[1] ?? -1)
      if (/No space left on device/i.test(out) && size >= 0 && size <= 16 * MiB) record('writing past a ram volume\'s size (16 MiB, 64 MiB written)', 'contained', `ENOSPC after ${Math.round(size / MiB)} MiB`)
      else record('writing past a ram volume\'s size (16 MiB, 64 MiB written)', 'escaped', `wrote ${size} bytes: ${out.trim()}`)
      await leases.close(id, 'done')
    }
    if (wanted('writing past the writable layer')) {
      const name = 'writing past the writable layer\'s size (16 MiB ephemeral)'
      const eph: StorageSpec = { name: 'default', size: 16 * MiB, persistent: false }
      const m = manifestOf(svc('layer', { command: ['sleep', '600'], resources: { cpu: 100, memory: 32 * MiB, storage: [eph], gpu: { units: 0, models: [] } } }))
      if (sandbox.storage.ephemeral === 'quota') {
        const id = await deploy(m)
        const out = await shell(id, 'layer', 'dd if=/dev/zero of=/fill bs=1M count=64 2>&1; echo "size=$(wc -c < /fill)"')
        const size = Number(/size=\s*(\d+)/.exec(out)?.[1] ?? -1)
        record(name, /No space left/i.test(out) && size <= 16 * MiB ? 'contained' : 'escaped', `wrote ${size} bytes: ${out.trim()}`)
        await leases.close(id, 'done')
      } else {
        // this engine cannot hold the layer to a size: the provider does not bid, and says why
        const inv = inventory({ capacity: { cpu: 8000, memory: 8 * 1024 * MiB, storage: 100 * 1024 * MiB, gpus: [] }, unenforcedStorage: unenforcedKinds(sandbox) })
        const engine = bidEngine({ attributes: {}, pricing: { table: { denom: 'uakt', cpu: '1', memory: '1', storage: { '*': '0' }, gpu: { '*': '0' }, endpoint: '0' } } })({ identity: provider, reservations: inv.reservationProvider(), publishBid: () => {} })
        const bytes = new TextEncoder().encode(canonicalJson(m))
        const d = await engine.handleOrder(signMessage(tenant, MessageTag.ORDER, { ...orderOf(m, bytes), bidDeadline: Date.now() + 5_000 }))
        await engine.stop()
        if (d.outcome === 'declined' && d.reasons[0]?.code === 'ERR_STORAGE_NOT_ENFORCED') record(name, 'refused', `no bid: ${d.reasons[0].message}`)
        else record(name, 'escaped', `the provider bid on a writable layer it cannot hold: ${JSON.stringify(d.reasons)}`)
      }
    }

    // ---- network ------------------------------------------------------------------------------
    if (opts.only == null || opts.only.length === 0 || opts.only.some((o) => /connect|gateway|host|metadata|private server|lease|internet/.test(o))) {
      const w = await createWorld()
      world = w
      const a = await deploy(manifestOf(svc('probe', { command: ['sleep', '600'] }), web('sibling')))
      const b = await deploy(manifestOf(web('other')))
      const netA = await docker.getNetwork(networkName(a)).inspect() as { IPAM?: { Config?: Array<{ Gateway?: string }> } }
      const gateway = netA.IPAM?.Config?.[0]?.Gateway ?? ''
      const otherIp = (await container(b, 'other')).NetworkSettings.Networks[networkName(b)]?.IPAddress ?? ''
      const forbidden: Array<[string, string, number, string]> = [
        [`the host through the bridge gateway (${gateway}:${w.hostPort})`, gateway, w.hostPort, HOST_PAGE],
        ...w.hostAddresses.map((h): [string, string, number, string] => [`the host's own address (${h}:${w.hostPort})`, h, w.hostPort, HOST_PAGE]),
        [`cloud metadata (${w.metadata}:80)`, w.metadata, 80, WORLD_PAGE],
        [`a private server (${w.privateServer}:80)`, w.privateServer, 80, WORLD_PAGE],
        [`another lease's container (${otherIp}:8080)`, otherIp, 8080, 'other-page']
      ]
      for (const [name, host, port, marker] of forbidden) {
        if (!wanted(`connect to ${name}`)) continue
        const r = await probe(a, 'probe', host, port, marker)
        record(`connect to ${name}`, r.reached ? 'escaped' : 'contained', r.reached ? 'reached it' : `no connection: ${r.out.split('\n')[0]}`)
      }
      const allowed: Array<[string, string, number, string]> = [
        [`the internet (${w.internet}:80, a documentation address served from a network namespace)`, w.internet, 80, WORLD_PAGE],
        ['its own lease\'s other service (sibling:8080)', 'sibling', 8080, 'sibling-page']
      ]
      for (const [name, host, port, marker] of allowed) {
        if (!wanted(`connect to ${name}`)) continue
        // what a lease must reach is asked again a few times: a sibling's server under gVisor can
        // take a moment to answer after its container runs (the forbidden probes get one try, and
        // any answer there is an escape)
        let r = await probe(a, 'probe', host, port, marker)
        for (let i = 0; i < 4 && !r.reached; i++) {
          await new Promise((resolve) => setTimeout(resolve, 1000))
          r = await probe(a, 'probe', host, port, marker)
        }
        record(`connect to ${name}`, r.reached ? 'contained' : 'failed', r.reached ? 'reached, as a lease must' : `a lease must reach it and did not: ${r.out}`)
      }
      await leases.close(a, 'done')
      await leases.close(b, 'done')
    }
  } finally {
    for (const id of opened) await leases.close(id, 'sandbox check done').catch(() => {})
    leases.stop()
    await world?.close()
  }
  // nothing may be left behind: containers, networks, volumes, rules, volume images
  const leftovers: string[] = []
  const mine = { label: [`${LABEL_INSTANCE}=${instance}`] }
  leftovers.push(...(await docker.listContainers({ all: true, filters: mine })).map((c) => `container ${c.Names[0]}`))
  leftovers.push(...(await docker.listNetworks({ filters: mine })).map((n) => `network ${n.Name}`))
  leftovers.push(...((await docker.listVolumes({ filters: mine })).Volumes ?? []).map((v) => `volume ${v.Name}`))
  const rules = (await run('iptables', ['-S'])).out
  for (const id of opened) {
    const { forward, input } = chainNames(instance, id)
    if (rules.includes(forward) || rules.includes(input)) leftovers.push(`iptables chains of lease ${id.slice(0, 12)}`)
  }
  if (rules.includes(`souk:${instance}:`)) leftovers.push('iptables jump rules')
  leftovers.push(...(await storeImages(storeDir)).map((f) => `volume image ${f}`))
  return { results, sandbox, leftovers }
}

export function summary (results: CaseResult[]): Record<Outcome | 'cases', number> {
  const count = (o: Outcome): number => results.filter((r) => r.outcome === o).length
  return { cases: results.length, refused: count('refused'), contained: count('contained'), escaped: count('escaped'), failed: count('failed') }
}
