// devnet.json is read by one process while another rewrites it (the chaos harness samples the
// devnet while it restarts nodes): a reader must never see half a file.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { saveDevnet, readDevnet } from '../../src/node/devnet.ts'
import type { DevnetState } from '../../src/node/devnet.ts'

const dir = mkdtempSync(join(tmpdir(), 'souk-devnet-file-'))
test.after(() => { rmSync(dir, { recursive: true, force: true }) })

test('devnet.json read while it is rewritten: always whole', async () => {
  const state: DevnetState = {
    dir,
    createdAt: Date.now(),
    nodes: Array.from({ length: 400 }, (_, i) => ({ name: `validator-${i}`, role: 'validator' as const, home: join(dir, `validator-${i}`), peerId: `12D3KooW${'x'.repeat(44)}${i}`, port: 4000 + i, pid: 1000 + i }))
  }
  await saveDevnet(state)
  let torn = 0
  let writes = 0
  const writer = (async () => {
    for (; writes < 150; writes++) {
      state.nodes[writes % state.nodes.length].pid = writes
      await saveDevnet(state)
    }
  })()
  while (writes < 150) {
    if (await readDevnet(dir) == null) torn++
  }
  await writer
  assert.is(torn, 0, `${torn} reads saw no devnet`)
  assert.is((await readDevnet(dir))?.nodes.length, 400)
})

test.run()
