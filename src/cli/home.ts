import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/** The node home: --home, else $SOUK_HOME, else ~/.souk. */
export function resolveHome (flag?: string): string {
  if (flag != null && flag !== '') return resolve(flag)
  const env = process.env.SOUK_HOME
  if (env != null && env !== '') return resolve(env)
  return join(homedir(), '.souk')
}
