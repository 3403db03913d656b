// One daemon per node home. A second daemon on the same home used to fail deep in the peer
// store ("Database failed to open"); the lock file says which process holds the home instead.
// The lock is a file created exclusively, holding the holder's pid; a lock whose process is gone
// (a crash, a power cut) is stale and taken over.
import { open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { NodeError } from './errors.ts'

export const HOME_LOCK_FILE = 'daemon.lock'
export const HOME_IN_USE = 'ERR_HOME_IN_USE'

export class HomeInUseError extends NodeError {
  readonly pid: number
  readonly home: string
  constructor (home: string, pid: number) {
    super(HOME_IN_USE, `another souk daemon (pid ${pid}) holds ${home}; stop it with \`souk --home ${home} node stop\`, or give this one its own --home`)
    this.name = 'HomeInUseError'
    this.pid = pid
    this.home = home
  }
}

export interface HomeLock {
  readonly path: string
  release: () => Promise<void>
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err: any) { return err?.code === 'EPERM' }
}

async function holder (path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined)
  if (text == null) return undefined
  const pid = Number.parseInt(text.trim().split('\n')[0] ?? '', 10)
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

/** Takes the home for this process, or throws HomeInUseError naming the process that holds it. */
export async function lockHome (home: string, pid = process.pid): Promise<HomeLock> {
  const path = join(home, HOME_LOCK_FILE)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600)
      await fh.writeFile(`${pid}\n`)
      await fh.close()
      let released = false
      return {
        path,
        async release () {
          if (released) return
          released = true
          // only our own lock: a takeover after we were presumed dead is not ours to remove
          if (await holder(path) === pid) await rm(path, { force: true })
        }
      }
    } catch (err: any) {
      if (err?.code !== 'EEXIST') throw err
      const other = await holder(path)
      if (other != null && other !== pid && alive(other)) throw new HomeInUseError(home, other)
      // stale (or half-written by a process that died at once): remove and try again
      await rm(path, { force: true })
    }
  }
  throw new NodeError(HOME_IN_USE, `could not take the lock ${path}; another process keeps recreating it`)
}

/**
 * The store or the peer store would not open: when another live daemon holds the home, that is
 * the error to show; otherwise the original one.
 */
export async function explainOpenFailure (home: string, err: unknown): Promise<unknown> {
  const other = await holder(join(home, HOME_LOCK_FILE))
  if (other != null && other !== process.pid && alive(other)) return new HomeInUseError(home, other)
  return err
}
