// The local image the examples run: a root file system holding Debian's busybox-static, imported
// into Docker. No registry is involved, so it works on a machine that can pull nothing.
import { spawn } from 'node:child_process'
import { mkdtemp, mkdir, copyFile, symlink, writeFile, rm, access } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { NodeError } from './errors.ts'

export const EXAMPLE_IMAGE = 'souk/busybox:latest'
const BUSYBOX = '/bin/busybox'

export async function ensureExampleImage (docker: Docker, image = EXAMPLE_IMAGE): Promise<'present' | 'built'> {
  try {
    await docker.getImage(image).inspect()
    return 'present'
  } catch {}
  try {
    await access(BUSYBOX)
  } catch {
    throw new NodeError('ERR_NO_BUSYBOX', `the example image ${image} is missing and ${BUSYBOX} is not installed to build it (apt-get install busybox-static)`)
  }
  const root = await mkdtemp(join(tmpdir(), 'souk-image-'))
  try {
    for (const d of ['bin', 'etc', 'tmp', 'www', 'data']) await mkdir(join(root, d), { recursive: true })
    await copyFile(BUSYBOX, join(root, 'bin', 'busybox'))
    const list = await run(BUSYBOX, ['--list'])
    for (const app of list.split('\n').map((x) => x.trim()).filter((x) => x !== '' && x !== 'busybox')) {
      await symlink('busybox', join(root, 'bin', app)).catch(() => {})
    }
    await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
    await writeFile(join(root, 'etc', 'group'), 'root:x:0:\n')
    await writeFile(join(root, 'www', 'index.html'), '<h1>hello from souk</h1>\n')
    const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] })
    const [repo, tag] = image.split(':')
    // dockerode types the import options as `{}`; the engine reads repo, tag and changes
    const stream = await docker.importImage(tar.stdout, { repo, tag: tag ?? 'latest', changes: ['CMD ["/bin/sh"]', 'ENV PATH=/bin'] })
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => err != null ? reject(err) : resolve()))
    await docker.getImage(image).inspect()
    return 'built'
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

function run (cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    p.stdout.on('data', (d) => { out += String(d) })
    p.on('error', reject)
    p.on('close', () => resolve(out))
  })
}
