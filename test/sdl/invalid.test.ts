// Each file in test/fixtures/sdl/invalid/ ends with `# expect: path: message` lines: the exact
// errors it must give, in order. All of a file's errors are reported, not only the first.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadSdl, loadSdlFile, SdlParseError, SdlValidationError } from '../../src/sdl/index.ts'

const fixtures = new URL('../fixtures/sdl/', import.meta.url).pathname
const invalid = join(fixtures, 'invalid')

function expected (text: string): string[] {
  return [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1])
}

for (const f of readdirSync(invalid).filter((f) => f.endsWith('.yaml')).sort()) {
  test(`invalid/${f} gives exactly its expected errors`, () => {
    const text = readFileSync(join(invalid, f), 'utf8')
    const want = expected(text)
    assert.ok(want.length > 0, 'the fixture lists its expected errors')
    let err: unknown
    try { loadSdl(text) } catch (e) { err = e }
    assert.instance(err, SdlValidationError)
    const e = err as SdlValidationError
    assert.is(e.code, 'ERR_SDL_INVALID')
    assert.equal(e.errors.map((x) => `${x.path}: ${x.message}`), want)
  })
}

test('the example from the brief: a port out of range names its path', () => {
  const text = readFileSync(join(invalid, 'expose.yaml'), 'utf8')
  try {
    loadSdl(text)
    assert.unreachable()
  } catch (e: any) {
    assert.ok(e.errors.some((x: any) => x.path === 'services.web.expose[0].port' && x.message === 'must be an integer 1-65535'))
    assert.match(e.message, /^invalid deployment file \(\d+ errors\): services\.web\.expose\[0\]\.port: must be an integer 1-65535/)
  }
})

test('YAML syntax errors carry line and column', async () => {
  for (const [file, line, column] of [['bad-indent.yaml', 5, 1], ['unclosed-flow.yaml', 5, 5]] as const) {
    let err: any
    try { await loadSdlFile(join(fixtures, 'syntax', file)) } catch (e) { err = e }
    assert.instance(err, SdlParseError, file)
    assert.is(err.code, 'ERR_SDL_PARSE')
    assert.is(err.line, line, file)
    assert.is(err.column, column, file)
    assert.match(err.message, new RegExp(`^YAML syntax error at line ${line}, column ${column}: `))
  }
  assert.throws(() => loadSdl('a: 1\n---\nb: 2\n'), (e: any) => e.code === 'ERR_SDL_PARSE')
})

test('empty and non-map files', () => {
  for (const text of ['', '# only a comment\n', '- a\n- b\n', 'just a string\n']) {
    assert.throws(() => loadSdl(text), (e: any) => e instanceof SdlValidationError && e.errors[0].path === '(file)')
  }
})

test('merge keys and reserved keys are errors, not surprises', () => {
  const base = readFileSync(join(fixtures, 'valid', 'full.yaml'), 'utf8')
  const merged = base.replace('  worker:\n    image: souk/busybox:latest\n', '  worker:\n    <<: {image: souk/busybox:latest}\n')
  assert.throws(() => loadSdl(merged), (e: any) => e.errors.some((x: any) => x.path === 'services.worker.<<' && /merge keys/.test(x.message)))
  const proto = base.replace('    env: [MODE=worker]\n', '    env: [MODE=worker]\n    __proto__: {}\n')
  assert.throws(() => loadSdl(proto), (e: any) => e.errors.some((x: any) => x.path === 'services.worker.__proto__'))
})

test.run()
