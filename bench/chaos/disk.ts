// Disk faults under a node's home: the home moved onto a small file system image (a loop device)
// that can then be filled to the last block, and a store file truncated or overwritten. Needs root,
// mkfs.ext4 and mount; the node must be stopped while its home moves.
import { execFile } from 'node:child_process'
import { mkdir, rename, rm, cp, open, truncate, stat, writeFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

async function run (cmd: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile(cmd, args, (err, _out, stderr) => { if (err != null) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`)); else resolve() })
  })
}

export interface SmallDisk {
  /** fills the file system to its last block */
  fill: () => Promise<void>
  /** removes the filler */
  free: () => Promise<void>
  /** unmounts it, leaving the home's files (copied back) where they were; the node must be stopped */
  release: () => Promise<void>
}

/** moves `home` onto a fresh ext4 image of `mib` MiB mounted in its place */
export async function homeOnSmallDisk (home: string, mib: number, workdir: string): Promise<SmallDisk> {
  const img = join(workdir, `${home.split('/').at(-1) ?? 'home'}-${mib}m.img`)
  const stash = `${home}.stash`
  await run('truncate', ['-s', `${mib}M`, img])
  // no blocks reserved for root: full means full, for every user
  await run('mkfs.ext4', ['-q', '-m', '0', img])
  await rename(home, stash)
  await mkdir(home, { mode: 0o700 })
  await run('mount', ['-o', 'loop', img, home])
  // a dead daemon's control socket stays behind; it is remade on start
  await cp(stash, home, { recursive: true, filter: (src) => !src.endsWith('.sock') })
  await rm(stash, { recursive: true, force: true })
  const filler = join(home, 'filler')
  return {
    async fill () {
      const fd = await open(filler, 'a')
      try {
        const chunk = Buffer.alloc(1 << 20)
        for (;;) await fd.write(chunk)
      } catch (err: any) {
        if (err?.code !== 'ENOSPC') throw err
      } finally { await fd.close() }
      // the last partial blocks
      try { for (;;) await writeFile(filler, Buffer.alloc(4096), { flag: 'a' }) } catch {}
    },
    async free () { await rm(filler, { force: true }) },
    async release () {
      await rm(filler, { force: true })
      await mkdir(stash, { mode: 0o700 })
      for (const f of await readdir(home)) if (f !== 'lost+found' && !f.endsWith('.sock')) await cp(join(home, f), join(stash, f), { recursive: true })
      await run('umount', [home])
      await rm(home, { recursive: true, force: true })
      await rename(stash, home)
      await rm(img, { force: true })
    }
  }
}

/** what a torn or overwritten store file looks like: half of it gone, or a run of pages overwritten */
export async function damageStore (path: string, how: 'truncate' | 'overwrite' | 'header'): Promise<void> {
  const size = (await stat(path)).size
  if (how === 'truncate') { await truncate(path, Math.floor(size / 2 / 4096) * 4096 + 1000); return }
  const fd = await open(path, 'r+')
  try {
    if (how === 'header') await fd.write(Buffer.alloc(100, 0x5a), 0, 100, 0)
    else for (let off = 4096; off < size; off += 4096 * 3) await fd.write(Buffer.alloc(512, 0xff), 0, 512, off)
  } finally { await fd.close() }
}
