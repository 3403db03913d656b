import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadSdl, loadSdlFile, DEFAULT_LIMITS, SdlLimitError, SdlValidationError } from '../../src/sdl/index.ts'

const isLimit = (limit: string) => (e: unknown): boolean => e instanceof SdlLimitError && e.code === 'ERR_SDL_LIMIT' && e.limit === limit

test('a file over 1 MiB is refused before parsing', () => {
  const text = 'version: "2.0"\n#' + 'x'.repeat(DEFAULT_LIMITS.maxBytes) + '\n'
  assert.throws(() => loadSdl(text), isLimit('bytes'))
  assert.throws(() => loadSdl('version: "2.0"\n', { limits: { maxBytes: 8 } }), isLimit('bytes'))
})

test('loadSdlFile checks the size before reading', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'souk-sdl-'))
  try {
    const file = join(dir, 'big.yaml')
    writeFileSync(file, 'x'.repeat(DEFAULT_LIMITS.maxBytes + 1))
    let err: unknown
    try { await loadSdlFile(file) } catch (e) { err = e }
    assert.ok(isLimit('bytes')(err))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('an alias bomb stops at the alias cap', () => {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i)
    const name = String.fromCharCode(97 + i)
    lines.push(`${name}: &${name} [${Array(9).fill('*' + prev).join(',')}]`)
  }
  assert.throws(() => loadSdl(lines.join('\n') + '\n'), isLimit('aliases'))
})

test('aliases under the cap expand, bounded by the node budget', () => {
  const text = 'x: &x [' + Array(200).fill('1').join(',') + ']\ny: [' + Array(99).fill('*x').join(',') + ']\n'
  assert.throws(() => loadSdl(text), isLimit('nodes'))
})

test('deep nesting is refused: flow, block and compact lists', () => {
  assert.throws(() => loadSdl('services: ' + '['.repeat(100_000) + ']'.repeat(100_000) + '\n'), isLimit('depth'))
  assert.throws(() => loadSdl('services: ' + '{a: '.repeat(40) + '1' + '}'.repeat(40) + '\n'), isLimit('depth'))
  const block = Array.from({ length: 60 }, (_, i) => ' '.repeat(i * 2) + `k${i}:`).join('\n') + ' 1\n'
  assert.throws(() => loadSdl(block), isLimit('depth'))
  assert.throws(() => loadSdl('services:\n' + '- '.repeat(100_000) + '1\n'), isLimit('depth'))
  assert.throws(() => loadSdl('services:\n' + '- '.repeat(40) + '1\n'), isLimit('depth'))
})

test('too many values, too long strings', () => {
  assert.throws(() => loadSdl('a: [' + Array(DEFAULT_LIMITS.maxNodes + 1).fill('1').join(',') + ']\n'), isLimit('nodes'))
  assert.throws(() => loadSdl(`a: "${'x'.repeat(DEFAULT_LIMITS.maxStringLength + 1)}"\n`), isLimit('string'))
})

test('count limits are validation errors naming the section', () => {
  const services = Array.from({ length: DEFAULT_LIMITS.maxServices + 1 }, (_, i) => `  s${i}: { image: x }`).join('\n')
  assert.throws(() => loadSdl(`version: "2.0"\nservices:\n${services}\n`), (e: unknown) =>
    e instanceof SdlValidationError && e.errors.some((x) => x.path === 'services' && x.message === `must have at most ${DEFAULT_LIMITS.maxServices} services`))
  const env = Array.from({ length: 5 }, (_, i) => `      - K${i}=v`).join('\n')
  assert.throws(() => loadSdl(`version: "2.0"\nservices:\n  web:\n    image: x\n    env:\n${env}\n`, { limits: { maxEnv: 4 } }), (e: unknown) =>
    e instanceof SdlValidationError && e.errors.some((x) => x.path === 'services.web.env' && x.message === 'must have at most 4 entries'))
})

test.run()
