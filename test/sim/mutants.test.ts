// The mutation check itself, on a short list: two mutants that break a rule a fast committee test
// guards, each applied to a copy of the code and caught. `npm run sim:mutants` runs them all.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'

const root = new URL('../..', import.meta.url).pathname

test('sim:mutants applies a mutant to a copy and a committee test catches it', () => {
  const r = spawnSync(process.execPath, ['test/sim/mutate.ts', '--only', 'certificate-2f,tally-twice', '--skip-clean', '--seeds4', '0', '--seeds7', '0'],
    { cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, FORCE_COLOR: '0' } })
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`
  assert.match(out, /mutant certificate-2f: caught by test\/committee\/certificate\.test\.ts/, out)
  assert.match(out, /mutant tally-twice: caught by test\/committee\/matching\.test\.ts/, out)
  assert.match(out, /mutants total=2 caught=2 missed=0/, out)
  assert.is(r.status, 0, out)
})

test.run()
