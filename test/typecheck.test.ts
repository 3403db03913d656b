// The whole project type-checks under strict settings; a type error is a failing test.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'

test('tsc --noEmit reports no type errors', () => {
  const root = new URL('..', import.meta.url).pathname
  const r = spawnSync(process.execPath, [root + 'node_modules/typescript/bin/tsc', '-p', root + 'tsconfig.json'], { encoding: 'utf8', cwd: root })
  assert.is(r.status, 0, `type errors:\n${r.stdout}${r.stderr}`)
})

test.run()
