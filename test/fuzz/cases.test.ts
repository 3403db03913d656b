// Every input `npm run fuzz` ever flagged, replayed: each must now give a value or a typed error,
// in time. Add a line here for each new finding (the fuzzer prints the target, seed and index;
// `node test/fuzz/run.ts --seed S --index I` prints the input).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { targets } from './targets.ts'
import { runInput } from './engine.ts'

interface Case { target: string, input: string, hex?: boolean, note: string }

const CASES: Case[] = [
  {
    target: 'frame/explain-request',
    input: 'f6',
    hex: true,
    note: 'seed 1, index 159636: the watchdog saw no progress for 20 s. The input itself (null) is refused in a millisecond; the time went into making a later input (a list grown to 2,000 copies of a list grown the same way), which the fuzzer now bounds'
  }
]

const byName = new Map(targets().map((t) => [t.name, t]))

for (const c of CASES) {
  test(`${c.target}: ${c.note.slice(0, 80)}`, () => {
    const t = byName.get(c.target)
    assert.ok(t != null, `no target ${c.target}`)
    const input = c.hex === true ? new Uint8Array(Buffer.from(c.input, 'hex')) : c.input
    const r = runInput(t, input)
    assert.ok(r.outcome === 'value' || r.outcome === 'typed', `${r.outcome}: ${r.message ?? ''}`)
  })
}

test.run()
