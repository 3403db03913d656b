// User-namespace remapping is engine-wide in Docker, so it is tried on an engine of our own:
// dockerd with --userns-remap=default in a network namespace this test makes and removes. A
// lease's root is then an unprivileged user on the host, souk reports it, and the lease's sized
// volume is owned by that user so the container can still write to it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerClient, dockerRuntime } from '../../src/runtime/index.ts'
import { ensureExampleImage } from '../../src/node/test-image.ts'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { manifestOf, MiB, newLease, service } from './manifests.ts'

function sh (cmd: string, args: string[]): Promise<{ code: number, out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err == null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, out: `${String(stdout)}${String(stderr)}` })
    })
  })
}

const docker = dockerFromEnv()
const root = process.getuid?.() === 0
if (docker == null) {
  skipNotice('test/runtime/userns.test.ts')
} else if (!root && process.env.CI !== 'true') {
  process.stdout.write('skipped test/runtime/userns.test.ts: an engine of its own needs root\n  Total:     1\n  Passed:    0\n  Skipped:   1\n')
} else {
  const id = randomBytes(3).toString('hex')
  const ns = `souk-userns-${id}`
  const dir = mkdtempSync(join(tmpdir(), 'souk-userns-'))
  // the remapped root must be able to pass through the engine's root directory
  chmodSync(dir, 0o711)
  const host = `unix://${dir}/docker.sock`
  let dockerd: ReturnType<typeof spawn> | undefined

  test.before(async () => {
    assert.is((await sh('ip', ['netns', 'add', ns])).code, 0)
    // nsenter, not `ip netns exec`: that one mounts a new /sys, hiding the cgroup file systems
    dockerd = spawn('nsenter', [`--net=/var/run/netns/${ns}`, 'dockerd', '--userns-remap=default', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'dockerd.pid'), '--host', host, '--bridge=none', '--iptables=false'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    dockerd.stderr?.on('data', (d) => { log = (log + String(d)).slice(-4000) })
    const client = dockerClient(host)
    for (let i = 0; i < 120; i++) {
      if (await client.ping().then(() => true, () => false)) break
      if (i === 119) throw new Error(`dockerd with userns-remap did not start: ${log}`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    await ensureExampleImage(client)
  })

  test.after(async () => {
    if (dockerd?.pid != null) {
      dockerd.kill('SIGTERM')
      await new Promise((resolve) => { dockerd!.once('exit', resolve); setTimeout(resolve, 15_000) })
    }
    await sh('ip', ['netns', 'del', ns])
    rmSync(dir, { recursive: true, force: true })
  })

  test('under userns-remap root in a lease is an unprivileged user on the host, and its sized volume is its own', async () => {
    const runtime = dockerRuntime({ dockerHost: host, instance: `souk-userns-${id}`, pull: 'never', firewall: 'off', volumeStore: join(dir, 'volumes') })()
    const report = await runtime.sandbox()
    assert.is(report.userNamespaces, true)
    const lease = newLease()
    await runtime.deploy(lease, manifestOf(service('app', {
      command: ['sleep', '300'],
      resources: { cpu: 100, memory: 32 * MiB, storage: [{ name: 'data', size: 16 * MiB, persistent: true, class: 'beta2' }], gpu: { units: 0, models: [] } },
      storage: { data: { mount: '/data', readOnly: false } }
    })))
    try {
      const c = (await dockerClient(host).listContainers({ filters: { label: [`souk.lease=${lease.leaseId}`] } }))[0]
      const pid = (await dockerClient(host).getContainer(c.Id).inspect()).State.Pid
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
      assert.ok(uid >= 65536, `the container's root is uid ${uid} on the host`)
      const h = await runtime.exec(lease.leaseId, { service: 'app', command: ['sh', '-c', 'id -u; echo hello > /data/f && cat /data/f'] })
      h.stdin.end()
      let out = ''
      for await (const o of h.output) out += Buffer.from(o.data).toString()
      assert.equal(out.trim().split('\n'), ['0', 'hello'])
    } finally {
      await runtime.close(lease.leaseId)
    }
  })

  test.run()
}
