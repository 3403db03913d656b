// Runs real containers on the Docker engine at DOCKER_HOST with the local busybox image.
import { randomBytes } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { dockerRuntime, dockerClient, LABEL_INSTANCE, LABEL_LEASE, LeaseExistsError, UpdateFailedError } from '../../src/runtime/index.ts'
import type { DockerRuntime, DeployedLease, ExecHandle, LeaseRef } from '../../src/runtime/index.ts'
import { GiB, MiB, manifestOf, newLease, persistentStorage, service, webService } from './manifests.ts'

const test = suite('docker runtime')
const dockerHost = process.env.DOCKER_HOST

if (dockerHost == null || dockerHost === '') {
  if (process.env.CI === 'true') throw new Error('DOCKER_HOST is not set, and CI=true: the Docker runtime tests must run in CI')
  console.log('notice: DOCKER_HOST is not set; skipping the Docker runtime tests')
  test.skip('Docker runtime (needs DOCKER_HOST)', () => {})
  test.run()
} else {
  // a unique owner label: the engine is shared, and reconcile must only see this run's objects
  const instance = `souk-test-${randomBytes(4).toString('hex')}`
  const docker = dockerClient(dockerHost)
  const calls: Array<{ name: string, ms: number }> = []
  const runtime: DockerRuntime = dockerRuntime({ dockerHost, instance, pull: 'never' })({ onDockerCall: (name, ms) => { calls.push({ name, ms }) } })

  async function objectsOf (leaseId: string): Promise<{ containers: number, networks: number, volumes: number }> {
    const filters = { label: [`${LABEL_LEASE}=${leaseId}`] }
    return {
      containers: (await docker.listContainers({ all: true, filters })).length,
      networks: (await docker.listNetworks({ filters })).length,
      volumes: ((await docker.listVolumes({ filters })).Volumes ?? []).length
    }
  }

  async function readAll (exec: ExecHandle): Promise<{ stdout: string, stderr: string, code: number }> {
    let stdout = ''
    let stderr = ''
    for await (const chunk of exec.output) {
      if (chunk.stream === 'stdout') stdout += Buffer.from(chunk.data).toString()
      else stderr += Buffer.from(chunk.data).toString()
    }
    return { stdout, stderr, code: await exec.exitCode }
  }

  async function run (lease: LeaseRef, command: string[], svc = 'web'): Promise<{ stdout: string, stderr: string, code: number }> {
    const ex = await runtime.exec(lease.leaseId, { service: svc, command })
    ex.stdin.end()
    return await readAll(ex)
  }

  async function waitRunning (lease: LeaseRef, svc: string): Promise<DeployedLease> {
    for (let i = 0; i < 100; i++) {
      const st = await runtime.status(lease.leaseId)
      const s = st.services.find((x) => x.name === svc)
      if (s != null && s.ready === s.count && s.replicas.every((r) => r.state === 'running')) return st
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`service ${svc} never came up`)
  }

  async function fetchText (url: string): Promise<string> {
    let last: unknown
    for (let i = 0; i < 50; i++) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
        return await res.text()
      } catch (err) {
        last = err
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    throw last
  }

  const web = newLease()
  const stateful = newLease()

  test.after(async () => {
    // whatever happened, leave no object of this run behind
    const filters = { label: [`${LABEL_INSTANCE}=${instance}`] }
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => {})
    for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => {})
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => {})
  })

  test('a deployed web service answers on the URL the provider reports', async () => {
    const deployed = await runtime.deploy(web, manifestOf(webService()))
    assert.is(deployed.runtime, 'docker')
    const svc = deployed.services.find((s) => s.name === 'web')
    assert.ok(svc, 'the web service is listed')
    assert.is(svc.replicas.length, 1)
    assert.is(svc.urls.length, 1)
    assert.match(svc.urls[0].url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.is(svc.urls[0].port, 8080)
    const body = await fetchText(svc.urls[0].url + '/index.html')
    assert.match(body, 'hello from souk')
    // overlay2 on ext4 cannot cap the writable layer: said, not silently dropped
    assert.ok(deployed.notices.some((n) => n.code === 'storage-size-not-enforced'))
    assert.ok(calls.some((c) => c.name === 'container.create') && calls.some((c) => c.name === 'container.start'), 'time inside create and start is reported')
  })

  test('deploying the same lease twice is refused', async () => {
    try {
      await runtime.deploy(web, manifestOf(webService()))
      assert.unreachable('second deploy should fail')
    } catch (err) {
      assert.instance(err, LeaseExistsError)
    }
  })

  test('containers run with the lease limits, no privileges and lease labels', async () => {
    const [c] = await docker.listContainers({ all: true, filters: { label: [`${LABEL_LEASE}=${web.leaseId}`] } })
    const info = await docker.getContainer(c.Id).inspect()
    const hc = info.HostConfig
    assert.is(hc.NanoCpus, 250_000_000)
    assert.is(hc.Memory, 64 * MiB)
    assert.is(hc.PidsLimit, 1024)
    assert.is(hc.Privileged, false)
    assert.equal(hc.CapDrop, ['ALL'])
    assert.ok(hc.SecurityOpt?.includes('no-new-privileges:true'))
    assert.is(info.Config.Labels['souk.service'], 'web')
    assert.is(info.Config.Labels['souk.tenant'], web.tenant)
    assert.ok(info.Config.Env.includes('GREETING=hello'))
    // the replica is on the lease's own network, not the default bridge
    assert.equal(Object.keys(info.NetworkSettings.Networks), [`souk-${web.leaseId}`])
  })

  test('logs show what the service printed, and requests it served', async () => {
    const lines: string[] = []
    for await (const l of runtime.logs(web.leaseId, { service: 'web' })) lines.push(l.line)
    assert.ok(lines.includes('web starting'), `got ${JSON.stringify(lines)}`)
    const tail: string[] = []
    for await (const l of runtime.logs(web.leaseId, { tail: 1 })) tail.push(l.line)
    assert.is(tail.length, 1)
  })

  test('following logs delivers new lines until the reader stops', async () => {
    const ac = new AbortController()
    const seen: string[] = []
    const reader = (async () => {
      for await (const l of runtime.logs(web.leaseId, { follow: true, tail: 0, signal: ac.signal })) {
        seen.push(l.line)
        if (l.line.includes('followed-line')) ac.abort()
      }
    })()
    // a line written to the main process's stdout is what a service printing later looks like
    for (let i = 0; i < 30 && !ac.signal.aborted; i++) {
      await run(web, ['sh', '-c', 'echo followed-line > /proc/1/fd/1'])
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    ac.abort()
    await reader
    assert.ok(seen.some((l) => l.includes('followed-line')), `got ${JSON.stringify(seen)}`)
  })

  test('exec runs a command in a replica and returns its output and exit code', async () => {
    const r = await run(web, ['echo', 'hi'])
    assert.is(r.stdout, 'hi\n')
    assert.is(r.code, 0)
    const fail = await run(web, ['sh', '-c', 'echo oops >&2; exit 3'])
    assert.is(fail.stderr, 'oops\n')
    assert.is(fail.code, 3)
    const ex = await runtime.exec(web.leaseId, { service: 'web', command: ['cat'] })
    ex.stdin.write('piped through stdin')
    ex.stdin.end()
    assert.is((await readAll(ex)).stdout, 'piped through stdin')
  })

  test('a persistent volume keeps its data when the container restarts', async () => {
    const m = manifestOf(service('db', {
      command: ['sh', '-c'],
      args: ['exec sleep 3600'],
      resources: { cpu: 100, memory: 32 * MiB, storage: persistentStorage(), gpu: { units: 0, models: [] } },
      storage: { data: { mount: '/data', readOnly: false } }
    }))
    const deployed = await runtime.deploy(stateful, m)
    assert.ok(deployed.notices.some((n) => n.code === 'volume-size-not-enforced'), 'the unenforced volume size is reported')
    assert.is((await run(stateful, ['sh', '-c', 'echo kept > /data/file'], 'db')).code, 0)
    const ac = new AbortController()
    const events: string[] = []
    const watcher = (async () => {
      for await (const e of runtime.events(stateful.leaseId, { signal: ac.signal })) {
        assert.is(e.service, 'db')
        events.push(e.type)
        if (e.type === 'start') ac.abort()
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const [c] = await docker.listContainers({ filters: { label: [`${LABEL_LEASE}=${stateful.leaseId}`] } })
    await docker.getContainer(c.Id).restart({ t: 0 })
    await waitRunning(stateful, 'db')
    setTimeout(() => { ac.abort() }, 5000).unref()
    await watcher
    assert.ok(events.includes('die') && events.includes('start'), `the restart shows in the lease's events: ${events.join(',')}`)
    assert.is((await run(stateful, ['cat', '/data/file'], 'db')).stdout, 'kept\n')
  })

  test('an update that cannot start keeps the previous version serving', async () => {
    const before = await runtime.status(web.leaseId)
    try {
      await runtime.update(web.leaseId, manifestOf(webService({ image: 'souk/not-here:1' })))
      assert.unreachable('update should fail')
    } catch (err) {
      assert.instance(err, UpdateFailedError)
    }
    const after = await runtime.status(web.leaseId)
    assert.equal(after.services[0].replicas.map((r) => r.name), before.services[0].replicas.map((r) => r.name))
    assert.match(await fetchText(after.services[0].urls[0].url + '/index.html'), 'hello from souk')
  })

  test('a restarted provider adopts active leases and removes inactive ones', async () => {
    const restarted = dockerRuntime({ dockerHost, instance, pull: 'never' })()
    const listed = await restarted.list()
    assert.equal(listed.map((l) => l.leaseId).sort(), [web.leaseId, stateful.leaseId].sort())
    const result = await restarted.reconcile(new Set([web.leaseId]))
    assert.equal(result.adopted, [web.leaseId])
    assert.equal(result.removed, [stateful.leaseId])
    assert.equal(await objectsOf(stateful.leaseId), { containers: 0, networks: 0, volumes: 0 })
    const st = await restarted.status(web.leaseId)
    assert.is(st.tenant, web.tenant)
    assert.match(await fetchText(st.services[0].urls[0].url + '/index.html'), 'hello from souk')
  })

  test('reconcile with the engine unreachable removes nothing', async () => {
    const offline = dockerRuntime({ dockerHost: 'unix:///tmp/souk-no-such-docker.sock', instance })()
    try {
      await offline.reconcile(new Set())
      assert.unreachable('reconcile should fail')
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ERR_RUNTIME_UNAVAILABLE')
      assert.is((err as { transient?: boolean }).transient, true)
    }
    assert.is((await objectsOf(web.leaseId)).containers, 1)
  })

  test('close removes every container, network and volume of the lease', async () => {
    await runtime.close(web.leaseId)
    assert.equal(await objectsOf(web.leaseId), { containers: 0, networks: 0, volumes: 0 })
    await runtime.close(web.leaseId) // idempotent
    assert.equal(await runtime.list(), [])
  })

  test('a GPU lease fails cleanly on a host without GPUs and leaves nothing behind', async () => {
    const lease = newLease()
    const m = manifestOf(service('train', { resources: { cpu: 100, memory: 32 * MiB, storage: [{ name: 'default', size: GiB, persistent: false }], gpu: { units: 1, models: [{ vendor: 'nvidia', model: 'h100' }] } } }))
    try {
      await runtime.deploy(lease, m)
      assert.unreachable('no GPU here')
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ERR_DEPLOY_FAILED')
    }
    assert.equal(await objectsOf(lease.leaseId), { containers: 0, networks: 0, volumes: 0 })
  })

  test.run()
}
