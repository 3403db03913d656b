// Manifests for runtime tests, in the shape the SDL loader produces.
import { randomBytes } from 'node:crypto'
import type { Expose, Manifest, ServiceManifest, StorageSpec } from '../../src/sdl/types.ts'
import type { LeaseRef } from '../../src/runtime/index.ts'

export const TEST_IMAGE = 'souk/busybox:latest'
export const GiB = 1024 ** 3
export const MiB = 1024 ** 2

export function newLease (): LeaseRef {
  return { leaseId: randomBytes(32).toString('hex'), tenant: '12D3KooWTenant', provider: '12D3KooWProvider' }
}

export function globalHttp (port: number, as = 80): Expose {
  return { port, as, proto: 'tcp', to: [{ global: true }], accept: [] }
}

export function service (name: string, over: Partial<ServiceManifest> = {}): ServiceManifest {
  return {
    name,
    image: TEST_IMAGE,
    env: [],
    expose: [],
    storage: {},
    profile: name,
    resources: { cpu: 250, memory: 64 * MiB, storage: [{ name: 'default', size: 256 * MiB, persistent: false }], gpu: { units: 0, models: [] } },
    count: 1,
    ...over
  }
}

export function manifestOf (...services: ServiceManifest[]): Manifest {
  return { version: '2.0', groups: [{ name: 'dcloud', services }], endpoints: {} }
}

export function persistentStorage (size = 64 * MiB): StorageSpec[] {
  return [{ name: 'default', size: 128 * MiB, persistent: false }, { name: 'data', size, persistent: true, class: 'beta2' }]
}

/** the busybox web service: serves /www, prints one line first, logs requests (-v) */
export function webService (over: Partial<ServiceManifest> = {}): ServiceManifest {
  return service('web', {
    command: ['sh', '-c'],
    args: ['echo web starting; exec httpd -f -v -p 8080 -h /www'],
    env: ['GREETING=hello'],
    expose: [globalHttp(8080)],
    ...over
  })
}
