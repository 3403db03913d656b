// Where a lease's images come from. A private image pulled with one deployment's registry
// credentials is marked, so another deployment without them cannot run it from the local cache:
// it must pull anonymously, which the registry allows only for a public image.
import type Docker from 'dockerode'
import { ImageRefusedError, ImageUnavailableError, RuntimeUnavailableError } from './errors.ts'
import type { RuntimeError } from './errors.ts'
import { isStatus, messageOf } from './docker-client.ts'
import type { DockerCall } from './docker-client.ts'
import { isPrivateMarker, privateMarker } from './image-policy.ts'
import type { RegistryPolicy } from './image-policy.ts'
import type { DeployOptions } from './interface.ts'
import type { ServiceManifest } from '../sdl/types.ts'

export interface ImageSourceInit {
  docker: Docker
  call: DockerCall
  /** `missing` pulls images that are not present; `never` only uses local images */
  pull?: 'missing' | 'never'
  registries: RegistryPolicy
}

export interface ImageSource {
  /**
   * Makes the image available for one service, or refuses it. With registry credentials the
   * image is always pulled, so the registry checks them, and marked private; without them a local
   * image is used only if it is not marked private, else it must pull anonymously.
   */
  ensureImage: (image: string, service: ServiceManifest, opts: DeployOptions) => Promise<void>
}

export function imageSource (init: ImageSourceInit): ImageSource {
  const { docker, call, registries } = init

  async function pull (image: string, auth: Record<string, string> | undefined, opts: DeployOptions): Promise<void> {
    opts.onProgress?.({ type: 'runtime:image:pull', detail: { image, credentials: auth != null } })
    await call('image.pull', async () => {
      const stream = await docker.pull(image, { ...(auth != null ? { authconfig: auth } : {}), abortSignal: opts.signal })
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(stream, (err: Error | null) => { if (err != null) reject(err); else resolve() })
      })
    }, { timeout: false })
  }

  function pullFailure (image: string, err: unknown): RuntimeError {
    if (err instanceof RuntimeUnavailableError && (err.cause as { code?: string })?.code !== 'EAI_AGAIN') return err
    return new ImageUnavailableError(image, `cannot be pulled: ${messageOf(err)}`, err)
  }

  async function ensureImage (image: string, service: ServiceManifest, opts: DeployOptions): Promise<void> {
    let local: { RepoTags?: string[] } | undefined
    try {
      local = await call('image.inspect', async () => await docker.getImage(image).inspect())
    } catch (err) {
      if (!isStatus(err, 404)) throw err
    }
    const creds = service.credentials
    if (creds == null) {
      const isPrivate = (local?.RepoTags ?? []).some(isPrivateMarker)
      if (local != null && !isPrivate) return
      if (init.pull === 'never') {
        if (isPrivate) throw new ImageRefusedError(image, 'it was pulled with another deployment\'s registry credentials, this deployment gives none, and this provider does not pull to check whether it is public')
        throw new ImageUnavailableError(image, 'not present on this provider and pulling is disabled')
      }
      await registries.check(image)
      try {
        await pull(image, undefined, opts)
      } catch (err) {
        if (isPrivate) throw new ImageRefusedError(image, `it is private (pulled here with another deployment's registry credentials) and this deployment gives none: an anonymous pull failed (${messageOf(err)})`)
        throw pullFailure(image, err)
      }
      // an anonymous pull worked: the image is public after all
      if (isPrivate) await call('image.untag', async () => await docker.getImage(`${privateMarker(image).repo}:${privateMarker(image).tag}`).remove({ noprune: true })).catch(() => {})
      return
    }
    if (init.pull === 'never') throw new ImageRefusedError(image, 'the deployment gives registry credentials and this provider does not pull, so it cannot have the registry check them')
    await registries.check(image)
    const auth = { username: creds.username, password: creds.password, serveraddress: creds.host, ...(creds.email != null ? { email: creds.email } : {}) }
    try {
      await pull(image, auth, opts)
    } catch (err) {
      throw pullFailure(image, err)
    }
    // a deployment without credentials will have to prove access to this image again
    const marker = privateMarker(image)
    await call('image.tag', async () => await docker.getImage(image).tag({ repo: marker.repo, tag: marker.tag }))
  }

  return { ensureImage }
}
