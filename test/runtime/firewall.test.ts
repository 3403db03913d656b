// The lease firewall on the real engine: installed with the lease, removed with it, put back by
// reconcile after the host lost it (a reboot), and the rules of leases gone are removed.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chainNames, dockerRuntime, leaseFirewall } from '../../src/runtime/index.ts'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { manifestOf, newLease, service } from './manifests.ts'

const docker = dockerFromEnv()
const rules = (): string => execFileSync('iptables', ['-S'], { encoding: 'utf8' })

if (docker == null) {
  skipNotice('test/runtime/firewall.test.ts')
} else if (process.getuid?.() !== 0 && process.env.CI !== 'true') {
  process.stdout.write('skipped test/runtime/firewall.test.ts: iptables needs root\n  Total:     1\n  Passed:    0\n  Skipped:   1\n')
} else {
  const instance = `souk-test-${randomBytes(4).toString('hex')}`
  const make = (): ReturnType<ReturnType<typeof dockerRuntime>> => dockerRuntime({ dockerHost: process.env.DOCKER_HOST, instance, pull: 'never' })()

  test('a lease\'s rules exist while it runs, come back after the host lost them, and go with the lease', async () => {
    const runtime = make()
    const lease = newLease()
    const { forward, input } = chainNames(instance, lease.leaseId)
    await runtime.deploy(lease, manifestOf(service('app', { command: ['sleep', '600'] })))
    try {
      assert.ok(rules().includes(`-N ${forward}`) && rules().includes(`-N ${input}`), 'both chains exist')
      assert.match(rules(), new RegExp(`-A DOCKER-USER -i br-[0-9a-f]{12} -m comment --comment "souk:${instance}:${lease.leaseId}" -j ${forward}`))
      assert.match(rules(), new RegExp(`-A INPUT -i br-[0-9a-f]{12} -m comment --comment "souk:${instance}:${lease.leaseId}" -j ${input}`))
      const bridge = new RegExp(`-A INPUT -i (br-[0-9a-f]{12}) -m comment --comment "souk:${instance}:${lease.leaseId}"`).exec(rules())![1]
      // the host restarts: its iptables rules are gone, the containers come back
      await leaseFirewall({ instance }).remove(lease.leaseId)
      assert.not.ok(rules().includes(forward))
      // rules of a lease this provider no longer holds, whose objects are already gone (on our own bridge)
      const stale = randomBytes(32).toString('hex')
      await leaseFirewall({ instance }).install(stale, bridge)
      assert.ok(rules().includes(chainNames(instance, stale).forward))
      const restarted = make()
      const r = await restarted.reconcile(new Set([lease.leaseId]))
      assert.equal(r.adopted, [lease.leaseId])
      assert.ok(rules().includes(`-N ${forward}`), 'reconcile put the rules back')
      assert.ok(rules().includes(`souk:${instance}:${lease.leaseId}`))
      assert.not.ok(rules().includes(chainNames(instance, stale).forward), 'the stale lease\'s rules are gone')
      // installing again changes nothing: one jump per chain
      await leaseFirewall({ instance }).install(lease.leaseId, bridge)
      assert.is(rules().split('\n').filter((l) => l.includes(`souk:${instance}:${lease.leaseId}`)).length, 2)
    } finally {
      await runtime.close(lease.leaseId)
    }
    assert.not.ok(rules().includes(instance), 'no rule of this provider is left')
    assert.not.ok(rules().includes(forward) || rules().includes(input))
  })

  test.run()
}
