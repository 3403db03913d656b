// What a Docker engine offers a provider, asked once and checked against what the provider's
// configuration wants: the OCI runtime it names, the firewall and volume store it needs, whether
// the writable layer can be sized, and who root in a container is on the host.
import { randomBytes } from 'node:crypto'
import type Docker from 'dockerode'
import { LABEL_INSTANCE } from './constants.ts'
import { SandboxUnavailableError } from './errors.ts'
import type { DockerCall } from './docker-client.ts'
import type { LeaseFirewall } from './firewall.ts'
import type { VolumeStore } from './volume-store.ts'

export interface EngineFacts {
  ociRuntime: string
  userNamespaces: boolean
  /** who root in a container is on the host (userns-remap), so volumes are made writable for it */
  rootOwner: { uid: number, gid: number }
  storageDriver: string
  backingFs: string
  /** whether the storage driver can hold a container's writable layer to a size */
  storageOpt: boolean
}

export interface EngineProbeInit {
  docker: Docker
  call: DockerCall
  instance: string
  /** the OCI runtime the provider asks for; the engine's default when absent */
  ociRuntime?: string
  firewall?: LeaseFirewall
  store?: VolumeStore
}

/** the part of `docker info` this file reads */
interface EngineInfo {
  Runtimes?: Record<string, unknown>
  DefaultRuntime?: string
  SecurityOptions?: string[]
  Driver?: string
  DriverStatus?: Array<[string, string]>
  DockerRootDir?: string
}

/** the engine's facts, asked on first use; a failed check is not remembered, so the next call asks again */
export function engineProbe (init: EngineProbeInit): () => Promise<EngineFacts> {
  const { docker, call, ociRuntime } = init
  /** overlay2 enforces `size` only on xfs with pquota (and btrfs, zfs, devicemapper do): probed once */
  let storageOpt: boolean | undefined
  let facts: Promise<EngineFacts> | undefined

  /** whether a container can be made with a writable layer of a fixed size (xfs needs the pquota mount option) */
  async function probeStorageOpt (): Promise<boolean> {
    const images = await call('image.list', async () => await docker.listImages())
    const image = images.find((i) => (i.RepoTags ?? []).some((t) => t !== '<none>:<none>'))
    if (image == null) return false
    try {
      const c = await docker.createContainer({ Image: image.Id, name: `souk-probe-${randomBytes(6).toString('hex')}`, HostConfig: { StorageOpt: { size: '64M' } }, Labels: { [LABEL_INSTANCE]: init.instance } })
      await c.remove({ force: true }).catch(() => {})
      return true
    } catch {
      return false
    }
  }

  async function ask (): Promise<EngineFacts> {
    const info = await call('info', async () => await docker.info() as EngineInfo)
    const runtimes = Object.keys(info.Runtimes ?? {})
    if (ociRuntime != null && !runtimes.includes(ociRuntime)) {
      throw new SandboxUnavailableError('oci-runtime', `the engine has no OCI runtime ${JSON.stringify(ociRuntime)} (it has ${runtimes.join(', ') || 'none'}); register it in the engine's daemon.json (docs/provider-docker.md)`)
    }
    await init.firewall?.check()
    await init.store?.check()
    const backingFs = (info.DriverStatus ?? []).find(([k]) => k === 'Backing Filesystem')?.[1] ?? ''
    const driver = info.Driver ?? ''
    if (storageOpt == null) {
      if (['btrfs', 'zfs', 'devicemapper'].includes(driver)) storageOpt = true
      else if (driver === 'overlay2' && backingFs === 'xfs') storageOpt = await probeStorageOpt()
      else storageOpt = false
    }
    const userNamespaces = (info.SecurityOptions ?? []).some((o) => /name=userns/.test(o))
    // with userns-remap the engine's root directory ends in <uid>.<gid> of the remapped root
    const remap = userNamespaces ? /\/(\d+)\.(\d+)\/?$/.exec(info.DockerRootDir ?? '') : null
    return {
      ociRuntime: ociRuntime ?? info.DefaultRuntime ?? 'runc',
      userNamespaces,
      rootOwner: remap != null ? { uid: Number(remap[1]), gid: Number(remap[2]) } : { uid: 0, gid: 0 },
      storageDriver: driver,
      backingFs,
      storageOpt
    }
  }

  return async function engine (): Promise<EngineFacts> {
    facts ??= ask()
    try {
      return await facts
    } catch (err) {
      facts = undefined
      throw err
    }
  }
}
