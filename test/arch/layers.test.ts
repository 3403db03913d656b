// The source tree keeps its shape: every import points to its own layer or one below, no folder
// or file cycle, no `any` beyond a handful, no file too long to read in one sitting.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { countAnys, cycles, fileGraph, folderGraph, readSources, upwardImports } from './source.ts'

const files = readSources()

test('no import points to a higher layer', () => {
  assert.equal(upwardImports(files), [])
})

test('no cycle between folders, and no file loads itself through others', () => {
  assert.equal(cycles(folderGraph(files)), [])
  assert.equal(cycles(fileGraph(files)), [])
})

test('no `any` in src/: every value has a type the compiler checks', () => {
  assert.equal(files.filter((f) => f.anys > 0).map((f) => `${f.path}: ${f.anys}`), [])
})

test('no file in src/ is longer than 500 lines', () => {
  assert.equal(files.filter((f) => f.lines > 500).map((f) => `${f.path}: ${f.lines} lines`), [])
})

test('the checks see what they guard: an upward import and a cycle are found', () => {
  const fake = [
    { path: 'wire/a.ts', lines: 1, anys: 0, imports: ['node/b.ts'], runtimeImports: ['node/b.ts'] },
    { path: 'node/b.ts', lines: 1, anys: 0, imports: ['wire/a.ts'], runtimeImports: ['wire/a.ts'] }
  ]
  assert.equal(upwardImports(fake).length, 1)
  assert.equal(cycles(fileGraph(fake)), [['node/b.ts', 'wire/a.ts']])
  // a type-only import loads nothing: no cycle
  assert.equal(cycles(fileGraph([{ ...fake[0] }, { ...fake[1], runtimeImports: [] }])), [])
})

test('the count finds an `any` wherever it is written, and nowhere else', () => {
  assert.is(countAnys('let a: any; function f (x: Array<any>): Promise<any> { return x as any }\ntry {} catch (e: any) {}'), 5)
  assert.is(countAnys('const many = "any"; // any\nlet company: unknown'), 0)
})

test.run()
