// souk needs Node.js 24 (node:sqlite built in, libp2p 3). On an older Node the module graph
// fails to link with an obscure "No such built-in module"; the package's entry point runs this
// first, and the CLI does the same, so the error says what to do. Imports nothing on purpose.

export const MIN_NODE_MAJOR = 24

export const NODE_VERSION_HELP = 'Install Node.js 24 (for example `nvm install 24`), or add the `node` package to your project (`npm install --save-dev node@24`): npm scripts and npx then run Node 24.'

/** The message for a Node.js too old to run souk, or undefined when `version` (default: this process's) is recent enough. */
export function nodeVersionProblem (version: string = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0])
  if (Number.isInteger(major) && major >= MIN_NODE_MAJOR) return undefined
  return `souk needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node.js ${version}. ${NODE_VERSION_HELP}`
}

/** Throws an Error with code ERR_NODE_VERSION on a Node.js older than MIN_NODE_MAJOR. */
export function assertNodeVersion (version?: string): void {
  const problem = nodeVersionProblem(version)
  if (problem == null) return
  // a plain Error: the node layer's error classes live behind imports an old Node may not link
  const err = new Error(problem) as Error & { code: string }
  err.name = 'NodeError'
  err.code = 'ERR_NODE_VERSION'
  throw err
}
