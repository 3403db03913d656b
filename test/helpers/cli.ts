// The real `souk` binary, run from the project root with this process's Node and environment.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const root = new URL('../..', import.meta.url).pathname

export interface CliResult { code: number | null, out: string, err: string }

/** runs `souk ARGS` to its end (killed after `timeoutMs`) */
export function runSouk (args: string[], timeoutMs = 120_000): CliResult {
  const r = spawnSync(process.execPath, [join(root, 'bin/souk'), ...args], { cwd: root, encoding: 'utf8', timeout: timeoutMs, env: process.env })
  return { code: r.status, out: r.stdout, err: r.stderr }
}
