// Crash points, for fault testing. With SOUK_CRASH_AT=<point>[:<n>][:+<ms>] the process kills
// itself with SIGKILL (no clean-up, no flush: as the OOM killer or a power cut would) right after
// the transaction holding the n-th write that matches <point> commits, or <ms> later. A write is
// named `table[/kind[/state]]` (the row's `kind` column and the `state` of its JSON `data`), for
// example `committee_signed/prevote` or `node_records/provider-lease/deploying`; a point matches
// the names it is a prefix of. SOUK_CRASH_FILE=<path> names a file holding a point instead, read
// again whenever it changes, so a running node can be armed. Neither set: nothing is installed.
//
// Killing right after the commit is the narrowest gap there is between writing a vote and
// sending it: the committee sends in the same turn of the event loop, after the commit returns.
import { readFileSync, statSync, writeSync } from 'node:fs'
import type { DatabaseSync } from 'node:sqlite'
import { CRASH_AT_ENV, CRASH_FILE_ENV, MIGRATIONS_TABLE, STORE_ID_TABLE } from './constants.ts'
import { StoreError, StoreErrorCode } from './errors.ts'
import { errorMessage } from '../util/index.ts'

export interface CrashPoint {
  /** prefix of the write's name: table[/kind[/state]] */
  point: string
  /** which matching commit fires it, from 1 */
  n: number
  /** kill this long after that commit instead of at once */
  delayMs?: number
}

const POINT_RE = /^([a-z_][a-z0-9_]*(?:\/[A-Za-z0-9_.-]*){0,2})(?::([1-9][0-9]{0,5}))?(?::\+([0-9]{1,6}))?$/

export function parseCrashPoint (text: string): CrashPoint {
  const m = POINT_RE.exec(text.trim())
  if (m == null) {
    throw new StoreError(StoreErrorCode.BAD_CRASH_POINT, `crash point "${text.trim().slice(0, 80)}" must look like table[/kind[/state]][:n][:+ms], e.g. committee_signed/prevote:2:+50`)
  }
  return { point: m[1], n: m[2] != null ? Number(m[2]) : 1, delayMs: m[3] != null ? Number(m[3]) : undefined }
}

export interface CrashHook {
  /** adds triggers to the tables that have none yet (call after every migration) */
  install: (db: DatabaseSync) => void
  /** the outermost transaction committed */
  committed: () => void
  /** the outermost transaction rolled back: its writes never happened */
  rolledBack: () => void
}

function die (reason: string): void {
  try { writeSync(2, `crash point reached: ${reason}; SIGKILL\n`) } catch {}
  process.kill(process.pid, 'SIGKILL')
}

/** undefined unless SOUK_CRASH_AT or SOUK_CRASH_FILE is set */
export function crashHook (opts: { inTransaction: () => boolean, env?: Record<string, string | undefined> }): CrashHook | undefined {
  const env = opts.env ?? process.env
  const fixed = env[CRASH_AT_ENV] != null && env[CRASH_AT_ENV] !== '' ? parseCrashPoint(env[CRASH_AT_ENV]) : undefined
  const file = env[CRASH_FILE_ENV] != null && env[CRASH_FILE_ENV] !== '' ? env[CRASH_FILE_ENV] : undefined
  if (fixed == null && file == null) return undefined

  let armed: CrashPoint | undefined = fixed
  let fileStamp = ''
  let count = 0
  let pending: string | undefined
  let fired = false

  /** the point in force now: the file's, when a file is used */
  const current = (): CrashPoint | undefined => {
    if (file == null) return armed
    let stamp = ''
    try { const s = statSync(file); stamp = `${s.mtimeMs}:${s.size}:${s.ino}` } catch {}
    if (stamp !== fileStamp) {
      fileStamp = stamp
      count = 0
      fired = false
      armed = undefined
      if (stamp !== '') {
        try { armed = parseCrashPoint(readFileSync(file, 'utf8')) } catch (err) {
          try { writeSync(2, `ignoring ${file}: ${errorMessage(err)}\n`) } catch {}
        }
      }
    }
    return armed
  }

  const fire = (name: string): void => {
    const p = current()
    if (p == null || fired) return
    if (++count < p.n) return
    fired = true
    const reason = `${p.point}:${p.n} after writing ${name}`
    if (p.delayMs == null || p.delayMs === 0) die(reason)
    else setTimeout(() => die(`${reason} (+${p.delayMs} ms)`), p.delayMs)
  }

  const note = (name: unknown): null => {
    const p = current()
    if (p == null || fired || typeof name !== 'string' || !name.startsWith(p.point)) return null
    if (opts.inTransaction()) pending ??= name
    // a write outside any transaction commits as its statement ends, before the caller goes on
    else setImmediate(() => fire(name))
    return null
  }

  const hooked = new Set<string>()
  let registered = false
  return {
    install (db) {
      if (!registered) {
        db.function('souk_crash_point', { deterministic: false, directOnly: false }, note)
        registered = true
      }
      const tables = db.prepare('SELECT name FROM main.sqlite_master WHERE type = \'table\' AND name NOT LIKE \'sqlite_%\'').all() as Array<{ name: string }>
      for (const { name } of tables) {
        if (name === MIGRATIONS_TABLE || name === STORE_ID_TABLE || hooked.has(name) || !/^[a-z_][a-z0-9_]*$/.test(name)) continue
        const cols = new Set((db.prepare(`PRAGMA main.table_info(${name})`).all() as Array<{ name: string }>).map((c) => c.name))
        let expr = `'${name}'`
        if (cols.has('kind')) expr += ' || \'/\' || coalesce(NEW.kind, \'\')'
        if (cols.has('data')) expr += ' || \'/\' || coalesce(CASE WHEN json_valid(NEW.data) THEN json_extract(NEW.data, \'$.state\') END, \'\')'
        for (const op of ['INSERT', 'UPDATE']) {
          db.exec(`CREATE TEMP TRIGGER IF NOT EXISTS souk_crash_${name}_${op.toLowerCase()} AFTER ${op} ON main.${name} BEGIN SELECT souk_crash_point(${expr}); END`)
        }
        hooked.add(name)
      }
    },
    committed () {
      const name = pending
      pending = undefined
      if (name != null) fire(name)
    },
    rolledBack () { pending = undefined }
  }
}
