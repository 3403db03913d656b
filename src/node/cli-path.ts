// Where the souk command line is, found from this module's own place, so that the devnet can
// start nodes both from the sources (src/node/) and from the published build (dist/src/node/).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NodeError, NodeErrorCode } from './errors.ts'

/** bin/souk relative to src/node/ and to dist/src/node/ */
const CANDIDATES = ['../../bin/souk', '../../../bin/souk']

/** The absolute path of bin/souk; ERR_NO_CLI when the install has none. */
export function soukCliPath (): string {
  for (const rel of CANDIDATES) {
    const p = fileURLToPath(new URL(rel, import.meta.url))
    if (existsSync(p)) return p
  }
  throw new NodeError(NodeErrorCode.NO_CLI, `the souk command line (bin/souk) is not next to ${fileURLToPath(import.meta.url)}; reinstall the souk package`)
}
