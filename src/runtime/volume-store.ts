// Volumes that hold their size on a Docker host: one ext4 file system image per volume, of the
// volume's size, loop-mounted under the store directory and handed to Docker as a bind volume.
// A tenant writing past the size gets ENOSPC inside its own image; the host's disk only ever
// holds the image, allocated in full when the volume is made. Docker's own local volumes have
// no size, so without a store persistent volumes are not enforced (and a provider does not bid
// on them unless its operator accepts that).
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, rename, rm, rmdir, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { InsufficientResourcesError, SandboxUnavailableError } from './errors.ts'

export interface VolumeStoreInit {
  /** absolute directory on the Docker host for the images and their mount points */
  dir: string
}

export interface VolumeStore {
  readonly dir: string
  /** throws SandboxUnavailableError when images cannot be made and mounted here */
  check: () => Promise<void>
  /**
   * makes (or, after a host restart, mounts again) the file system of a volume; returns the
   * directory to bind. `owner` owns its root: the engine's remapped root under user namespaces.
   */
  ensure: (volume: string, size: number, owner?: { uid: number, gid: number }) => Promise<string>
  /** unmounts and deletes a volume's image; idempotent */
  remove: (volume: string) => Promise<void>
  /** the directory a volume is mounted on */
  path: (volume: string) => string
}

/** smaller images are made at this size: ext4 needs some room for itself */
export const MIN_IMAGE_BYTES = 1024 * 1024
/** below this a volume's file system has no journal: the journal alone would take most of it */
const JOURNAL_FROM_BYTES = 256 * 1024 * 1024
const COMMAND_TIMEOUT_MS = 120_000

function command (file: string, args: string[]): Promise<{ code: number, stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: COMMAND_TIMEOUT_MS }, (err, _stdout, stderr) => {
      const code = err == null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1
      resolve({ code, stderr: String(stderr) || (err != null ? String(err.message) : '') })
    })
  })
}

async function mounted (path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8')
  // field 5 is the mount point, with spaces and the like escaped as octal
  return info.split('\n').some((l) => l.split(' ')[4]?.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))) === path)
}

export function volumeStore (init: VolumeStoreInit): VolumeStore {
  if (!isAbsolute(init.dir)) throw new SandboxUnavailableError('volumes', `the volume store must be an absolute directory, not ${JSON.stringify(init.dir)}`)
  const dir = init.dir
  // names can be long (a lease ID, a service, a volume): files are named by their hash
  const key = (volume: string): string => createHash('sha256').update(volume).digest('hex').slice(0, 40)
  const path = (volume: string): string => join(dir, key(volume))
  const image = (volume: string): string => `${path(volume)}.img`

  async function check (): Promise<void> {
    if (process.getuid?.() !== 0) throw new SandboxUnavailableError('volumes', 'sized volumes need root on the Docker host (loop-mounted file system images)')
    if (!existsSync('/dev/loop-control')) throw new SandboxUnavailableError('volumes', 'this host has no loop devices (/dev/loop-control)')
    for (const t of ['mkfs.ext4', 'mount', 'umount', 'fallocate']) {
      const r = await command('sh', ['-c', `command -v ${t}`])
      if (r.code !== 0) throw new SandboxUnavailableError('volumes', `${t} is not installed (Debian: e2fsprogs, mount, util-linux)`)
    }
    await mkdir(dir, { recursive: true, mode: 0o700 })
  }

  async function ensure (volume: string, size: number, owner = { uid: 0, gid: 0 }): Promise<string> {
    const mnt = path(volume)
    const img = image(volume)
    if (await mounted(mnt)) return mnt
    await mkdir(mnt, { recursive: true, mode: 0o755 })
    if (!existsSync(img)) {
      const bytes = Math.max(MIN_IMAGE_BYTES, Math.ceil(size / 4096) * 4096)
      const part = `${img}.part`
      await rm(part, { force: true })
      // allocated now, in full (and kept so: mkfs must not discard it): the host's disk never holds more for this volume than its size
      const f = await command('fallocate', ['-l', String(bytes), part])
      if (f.code !== 0) {
        await rm(part, { force: true })
        if (/No space/i.test(f.stderr)) throw new InsufficientResourcesError('storage', `no room on the volume store for a volume of ${bytes} bytes`)
        throw new SandboxUnavailableError('volumes', `allocating a volume image failed: ${f.stderr.trim()}`)
      }
      const features = bytes < JOURNAL_FROM_BYTES ? ['-O', '^has_journal'] : []
      const m = await command('mkfs.ext4', ['-q', '-F', '-m', '0', ...features, '-E', `nodiscard,lazy_itable_init=1,lazy_journal_init=1,root_owner=${owner.uid}:${owner.gid}`, part])
      if (m.code !== 0) {
        await rm(part, { force: true })
        throw new SandboxUnavailableError('volumes', `making a file system failed: ${m.stderr.trim()}`)
      }
      // the image exists only once it is complete, so a crash never leaves a half-made one in use
      await rename(part, img)
    }
    const r = await command('mount', ['-o', 'loop,nodev,nosuid', img, mnt])
    if (r.code !== 0 && !(await mounted(mnt))) throw new SandboxUnavailableError('volumes', `mounting a volume image failed: ${r.stderr.trim()}`)
    return mnt
  }

  async function remove (volume: string): Promise<void> {
    const mnt = path(volume)
    if (await mounted(mnt)) {
      const r = await command('umount', [mnt])
      if (r.code !== 0 && await mounted(mnt)) throw new SandboxUnavailableError('volumes', `unmounting a volume failed: ${r.stderr.trim()}`)
    }
    await rm(image(volume), { force: true })
    await rm(`${image(volume)}.part`, { force: true })
    await rmdir(mnt).catch(() => {})
  }

  return { dir, check, ensure, remove, path }
}

/** images in a store directory (for tests: a store must end empty) */
export async function storeImages (dir: string): Promise<string[]> {
  try {
    const names = await readdir(dir)
    const out: string[] = []
    for (const n of names) if (n.endsWith('.img') && (await stat(join(dir, n))).isFile()) out.push(n)
    return out
  } catch {
    return []
  }
}
