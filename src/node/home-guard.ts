// One node a home, daemon or library alike. Two nodes on one home would share a key (one peer ID
// on two connections), a store and a committee state; SQLite would refuse the second late and
// obscurely ("Database failed to open"). createNode takes an exclusive lock file in the home
// before it opens anything, and gives it back on stop; the refusal names the process holding it.
// A lock left by a process that died (same host, PID gone) is taken over.
import { open, readFile, unlink, mkdir } from 'node:fs/promises'
import { unlinkSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { errorCode } from '../util/index.ts'
import { NodeError, NodeErrorCode, HomeInUseError } from './errors.ts'

export const HOME_LOCK_FILE = 'souk.lock'
/** a lock file is a few dozen bytes; anything larger is not ours */
const MAX_LOCK_BYTES = 1024

interface LockContent { pid: number, host: string, token: string, startedAt: number }

export interface HomeGuard {
  readonly home: string
  readonly path: string
  /** gives the home back (idempotent) */
  release: () => Promise<void>
}

/** homes held by this process: the lock file's PID is our own, so it cannot tell them apart */
const held = new Set<string>()

const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true } catch (err) { return errorCode(err) === 'EPERM' }
}

function parse (text: string): LockContent | undefined {
  if (text.length > MAX_LOCK_BYTES) return undefined
  try {
    const v = JSON.parse(text)
    if (typeof v?.pid === 'number' && typeof v.host === 'string' && typeof v.token === 'string') return v as LockContent
  } catch {}
  return undefined
}

/** Takes the home's lock, or throws HomeInUseError (ERR_HOME_IN_USE) naming who holds it. */
export async function acquireHome (homeIn: string): Promise<HomeGuard> {
  const home = resolve(homeIn)
  const path = join(home, HOME_LOCK_FILE)
  if (held.has(home)) throw new HomeInUseError(home, process.pid, `another node in this process (pid ${process.pid}) holds ${home}; stop() it first, or give this one its own home`)
  await mkdir(home, { recursive: true, mode: 0o700 })
  const mine: LockContent = { pid: process.pid, host: hostname(), token: `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`, startedAt: Date.now() }

  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600)
      try { await fh.writeFile(JSON.stringify(mine) + '\n') } finally { await fh.close() }
      break
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err
    }
    let text = ''
    try { text = await readFile(path, 'utf8') } catch (err) { if (errorCode(err) === 'ENOENT' && attempt < 2) continue; throw err }
    const other = parse(text)
    if (other != null && other.host !== mine.host) throw new HomeInUseError(home, other.pid, `a souk node on host ${other.host} (pid ${other.pid}) holds ${home}; stop it there, or remove ${path} if that node is gone`, other.host)
    if (other != null && other.pid !== process.pid && alive(other.pid)) {
      throw new HomeInUseError(home, other.pid, `another souk node (pid ${other.pid}) holds ${home}; stop it with \`souk --home ${home} node stop\` (or end the program that runs it), or give this one its own home`)
    }
    // a dead PID, our own PID without our hold (a node of this process that never stopped
    // cleanly and is gone), or a file that is not a lock we wrote: stale, take it over once
    if (attempt >= 2) throw new NodeError(NodeErrorCode.HOME_IN_USE, `could not take the lock ${path}; another process keeps recreating it`)
    await unlink(path).catch(() => {})
  }
  held.add(home)

  const releaseSync = (): void => {
    try {
      if (parse(readFileSync(path, 'utf8'))?.token === mine.token) unlinkSync(path)
    } catch {}
  }
  // a program that exits without stop() leaves no lock behind
  process.on('exit', releaseSync)
  let released = false
  return {
    home,
    path,
    async release () {
      if (released) return
      released = true
      process.off('exit', releaseSync)
      try {
        if (parse(await readFile(path, 'utf8'))?.token === mine.token) await unlink(path)
      } catch {}
      held.delete(home)
    }
  }
}
