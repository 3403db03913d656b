// A short, seeded slice of `npm run fuzz` for every target: each input gives a value or a typed
// error, in time, without crashing. The full run (a million inputs, two threads) is
// `npm run fuzz`; any input it ever flags goes into cases.test.ts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { targets } from './targets.ts'
import { Rng } from './mutate.ts'
import { runInput, show } from './engine.ts'

const PER_TARGET = Number(process.env.SOUK_FUZZ_PER_TARGET ?? 300)
const SEED = 20_240_601

for (const [t, target] of targets().entries()) {
  test(`${target.name}: ${PER_TARGET} mutated inputs, each a value or a typed error`, () => {
    const bad: string[] = []
    const seen = { value: 0, typed: 0 }
    for (let i = 0; i < PER_TARGET; i++) {
      const input = target.input(new Rng(SEED, t, i))
      const r = runInput(target, input)
      if (r.outcome === 'value' || r.outcome === 'typed') seen[r.outcome]++
      else bad.push(`${r.outcome} at input ${i}: ${r.message ?? ''}\n  input: ${show(input).slice(0, 400)}`)
    }
    assert.equal(bad, [])
    // the mutations reach both sides: some inputs decode, most are refused
    assert.ok(seen.typed > 0, `${target.name}: no input was refused`)
  })
}

test.run()
