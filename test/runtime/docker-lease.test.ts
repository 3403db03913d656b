// The rest of what a Docker lease is, as data: its network, its notices, and its status and
// listing read back from what the engine answers (in the engine's own shapes), without an engine.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { ContainerInfo, ContainerInspectInfo, NetworkInspectInfo, VolumeInspectInfo } from 'dockerode'
import { containerSpec, leaseStatus, networkName, networkSpec, planServices } from '../../src/runtime/index.ts'
import { deployNotices, ownedLeaseSummaries } from '../../src/runtime/docker-spec.ts'
import { GiB, manifestOf, newLease, service, webService } from './manifests.ts'

const lease = newLease()

test('a lease network is its own bridge, IPv4 only, labelled with the lease and its owner', () => {
  const n = networkSpec(lease, 'souk-p1')
  assert.is(n.Name, networkName(lease.leaseId))
  assert.is(n.Driver, 'bridge')
  assert.is(n.EnableIPv6, false)
  assert.equal(n.Labels, { 'souk.lease': lease.leaseId, 'souk.tenant': lease.tenant, 'souk.provider': lease.provider, 'souk.instance': 'souk-p1' })
})

test('a lease without souk\'s firewall, or with GPUs, says so in its notices', () => {
  const gpu = service('train', { resources: { cpu: 1000, memory: GiB, storage: [], gpu: { units: 1, models: [{ vendor: 'nvidia' }] } } })
  const m = manifestOf(webService(), gpu)
  const codes = (firewall: boolean): string[] => deployNotices(m, planServices(m), { firewall }).map((n) => n.code)
  assert.ok(codes(false).includes('network-not-isolated'))
  assert.not.ok(codes(true).includes('network-not-isolated'))
  assert.ok(codes(true).includes('gpu-driver'))
  const plain = manifestOf(webService())
  assert.not.ok(deployNotices(plain, planServices(plain), { firewall: true }).some((n) => n.code === 'gpu-driver'))
})

/** a container as `docker inspect` describes it, made from the spec souk would create */
function inspected (replica: number, state: Partial<ContainerInspectInfo['State']>, hostPort?: string): ContainerInspectInfo {
  const spec = containerSpec({ lease, group: 'dcloud', service: webService({ count: 2 }), replica, generation: 1, network: 'n', notices: [{ path: 'services.web', code: 'volume-size-not-enforced', message: 'x' }] })
  return {
    Name: `/${spec.name}`,
    RestartCount: 1,
    Config: { Image: spec.create.Image, Labels: spec.create.Labels },
    State: { Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 1, ExitCode: 0, Error: '', StartedAt: '2026-01-02T03:04:05Z', FinishedAt: '0001-01-01T00:00:00Z', ...state },
    NetworkSettings: { Ports: hostPort != null ? { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: hostPort }] } : {} }
  } as unknown as ContainerInspectInfo
}

test('status reads each replica\'s state, restarts and URL from the engine\'s answer', () => {
  const s = leaseStatus(lease.leaseId, [inspected(1, { Status: 'exited', Running: false, ExitCode: 3, OOMKilled: true }), inspected(0, {}, '32768')], 'provider.example.net')
  assert.is(s.runtime, 'docker')
  assert.is(s.tenant, lease.tenant)
  assert.is(s.provider, lease.provider)
  assert.is(s.services.length, 1)
  const web = s.services[0]
  assert.is(web.name, 'web')
  assert.is(web.count, 2)
  assert.is(web.ready, 1)
  assert.equal(web.replicas.map((r) => [r.index, r.state]), [[0, 'running'], [1, 'failed']])
  assert.is(web.replicas[0].restarts, 1)
  assert.is(web.replicas[0].startedAt, '2026-01-02T03:04:05Z')
  assert.is(web.replicas[1].exitCode, 3)
  assert.is(web.replicas[1].message, 'OOMKilled')
  assert.equal(web.urls.map((u) => u.url), ['http://provider.example.net:32768'])
  // the notices stored on the containers, when this process has none of its own
  assert.equal(s.notices.map((n) => n.code), ['volume-size-not-enforced'])
  assert.equal(leaseStatus(lease.leaseId, [inspected(0, {})], 'h', []).notices, [])
})

test('a stopped replica has no URL, and a created one is pending', () => {
  const s = leaseStatus(lease.leaseId, [inspected(0, { Status: 'created', Running: false }, '32768')], 'h')
  assert.is(s.services[0].replicas[0].state, 'pending')
  assert.equal(s.services[0].urls, [])
})

test('the listing of a provider\'s leases counts replicas and running ones per service, and knows leases with only a network or volume left', () => {
  const other = newLease()
  const labels = (l: typeof lease, extra: Record<string, string> = {}): Record<string, string> => ({ 'souk.lease': l.leaseId, 'souk.tenant': l.tenant, 'souk.provider': l.provider, ...extra })
  const containers = [
    { Id: 'a', Labels: labels(lease, { 'souk.service': 'web' }), State: 'running' },
    { Id: 'b', Labels: labels(lease, { 'souk.service': 'web' }), State: 'exited' },
    { Id: 'c', Labels: labels(lease, { 'souk.service': 'db' }), State: 'running' }
  ] as unknown as ContainerInfo[]
  const networks = [{ Id: 'n', Labels: labels(lease) }] as unknown as NetworkInspectInfo[]
  const volumes = [{ Name: 'v', Labels: labels(other) }] as unknown as VolumeInspectInfo[]
  const leases = ownedLeaseSummaries(containers, networks, volumes)
  assert.equal(leases.get(lease.leaseId), { leaseId: lease.leaseId, tenant: lease.tenant, provider: lease.provider, services: [{ name: 'web', replicas: 2, running: 1 }, { name: 'db', replicas: 1, running: 1 }] })
  assert.equal(leases.get(other.leaseId), { leaseId: other.leaseId, tenant: other.tenant, provider: other.provider, services: [] })
})

test.run()
