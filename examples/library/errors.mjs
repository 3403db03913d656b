// What a program sees when something is wrong, each a typed error with a code: a misspelt
// setting, a home another node holds, a node that cannot reach the market. Needs only a
// committee file (from a devnet: node errors.mjs DIR).
import { mkdtempSync, copyFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode, ConfigError, NodeError } from 'souk'

const devnet = process.argv[2] ?? './.souk-devnet'
const home = mkdtempSync(join(tmpdir(), 'souk-errors-'))
copyFileSync(join(devnet, 'tenant', 'committee.json'), join(home, 'committee.json'))

try {
  try {
    await createNode({ home, config: { roles: ['tennant'] } })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.log(`${err.code} ${err.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`)
  }

  // no bootstrap peers: this node runs, but nobody hears it
  const node = await createNode({ home, config: { roles: ['tenant'] } })
  try {
    try {
      await createNode({ home, config: { roles: ['tenant'] } })
    } catch (err) {
      if (!(err instanceof NodeError)) throw err
      console.log(`${err.code} ${err.message}`)
    }
    try {
      await node.ready({ timeoutMs: 500 })
    } catch (err) {
      if (!(err instanceof NodeError) || err.code !== 'ERR_NOT_READY') throw err
      console.log(`${err.code} missing: ${err.missing.join('; ')}`)
    }
  } finally {
    await node.stop()
  }
} finally {
  rmSync(home, { recursive: true, force: true })
}
