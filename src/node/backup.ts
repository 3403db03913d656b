// A node home's backup: the files that make the node what it is, copied so that a restore gives
// the same peer ID, the same leases and the same record of what it signed (docs/operations.md,
// "Backups and restores"). The store is copied with SQLite's online backup, page by page from one
// read transaction, so the copy is a consistent snapshot even while the node writes; a plain `cp`
// of store.db while it runs can miss the -wal file or tear a page.
//
// A running validator is refused: a snapshot is older than its next vote the moment it is taken,
// and a validator restored from it could sign against what it signed since. Its home is backed up
// with the node stopped.
import { backup as sqliteBackup, DatabaseSync } from 'node:sqlite'
import { copyFile, mkdir, readdir, writeFile, chmod, access } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, isAbsolute, join, resolve } from 'node:path'
import { CONFIG_FILE } from '../config/index.ts'
import { keyFilePath } from '../identity/index.ts'
import { errorMessage } from '../util/index.ts'
import { NodeError, NodeErrorCode } from './errors.ts'
import { acquireHome } from './home-guard.ts'

export const STORE_FILE = 'store.db'
/** beside the store: names the store it belongs to (src/store) */
export const STORE_ID_FILE = 'store.db.id'
/** in a backup: what it holds, whose it is, when it was taken */
export const BACKUP_MANIFEST = 'backup.json'
export const BACKUP_VERSION = 1

export interface BackupManifest {
  version: number
  peerId: string
  roles: string[]
  /** taken from a running node (a provider or tenant) or a stopped one */
  live: boolean
  createdAt: number
  host: string
  home: string
  files: string[]
}

export interface BackupSource {
  home: string
  /** whether the node is running (the copy is taken while it writes) */
  live: boolean
  peerId: string
  roles: string[]
  /** the committee file's name in the home (committee.file) */
  committeeFile: string
}

async function exists (p: string): Promise<boolean> {
  return await access(p).then(() => true, () => false)
}

/**
 * Writes key.json, souk.yaml, the committee file and a snapshot of the store into `dir` (made
 * if missing, mode 0700), then backup.json. A directory that already holds a backup is refused.
 */
export async function backupHome (src: BackupSource, dirIn: string): Promise<BackupManifest> {
  if (typeof dirIn !== 'string' || dirIn === '' || !isAbsolute(dirIn)) throw new NodeError(NodeErrorCode.BACKUP_FAILED, `the backup directory must be an absolute path, not ${JSON.stringify(String(dirIn).slice(0, 200))}`)
  const dir = resolve(dirIn)
  const home = resolve(src.home)
  if (dir === home || dir.startsWith(home + '/')) throw new NodeError(NodeErrorCode.BACKUP_FAILED, `the backup directory ${dir} is inside the node home; put it elsewhere (another disk, ideally)`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const present = await readdir(dir)
  if (present.includes(BACKUP_MANIFEST) || present.includes(STORE_FILE)) throw new NodeError(NodeErrorCode.BACKUP_FAILED, `${dir} already holds a backup; give each backup its own directory`)
  const files: string[] = []
  const copy = async (name: string, required: boolean): Promise<void> => {
    const from = join(home, name)
    if (!await exists(from)) {
      if (required) throw new NodeError(NodeErrorCode.BACKUP_FAILED, `${from} is missing; nothing was backed up`)
      return
    }
    await copyFile(from, join(dir, basename(name)))
    await chmod(join(dir, basename(name)), 0o600)
    files.push(basename(name))
  }
  await copy(basename(keyFilePath(home)), true)
  await copy(CONFIG_FILE, false)
  if (!isAbsolute(src.committeeFile)) await copy(src.committeeFile, false)

  const storePath = join(home, STORE_FILE)
  if (!await exists(storePath)) throw new NodeError(NodeErrorCode.BACKUP_FAILED, `no store at ${storePath}; nothing was backed up`)
  // a connection of its own: the copy reads in steps while the node's connection goes on writing
  const db = new DatabaseSync(storePath)
  try {
    db.exec('PRAGMA busy_timeout = 5000')
    await sqliteBackup(db, join(dir, STORE_FILE))
  } catch (err) {
    throw new NodeError(NodeErrorCode.BACKUP_FAILED, `copying the store ${storePath} failed: ${errorMessage(err)}`)
  } finally {
    db.close()
  }
  await chmod(join(dir, STORE_FILE), 0o600)
  files.push(STORE_FILE)
  // the snapshot keeps the store's ID; its marker goes with it
  await copy(STORE_ID_FILE, false)

  const manifest: BackupManifest = { version: BACKUP_VERSION, peerId: src.peerId, roles: [...src.roles], live: src.live, createdAt: Date.now(), host: hostname(), home, files }
  await writeFile(join(dir, BACKUP_MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 })
  return manifest
}

/** A stopped node's home: its lock is held meanwhile, so it cannot start halfway through the copy. */
export async function backupStoppedHome (src: Omit<BackupSource, 'live'>, dir: string): Promise<BackupManifest> {
  const guard = await acquireHome(src.home)
  try {
    return await backupHome({ ...src, live: false }, dir)
  } finally {
    await guard.release()
  }
}
