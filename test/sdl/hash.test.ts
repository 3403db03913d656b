import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { canonicalJson, canonicalManifestBytes, loadSdl, manifestHash, CanonicalJsonError } from '../../src/sdl/index.ts'

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/sdl/valid/${name}`, import.meta.url), 'utf8')
const full = fixture('full.yaml')

test('canonical JSON: sorted keys, no whitespace, undefined dropped', () => {
  assert.is(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, A: { z: 0, y: -0 } }), '{"A":{"y":0,"z":0},"a":[true,null,"x"],"b":1}')
  assert.is(canonicalJson('é"\n\u0001'), '"é\\"\\n\\u0001"')
  assert.is(canonicalJson([]), '[]')
  assert.is(canonicalJson({}), '{}')
  // keys compare as UTF-16 code units (RFC 8785): "\u{1F600}" (D83D…) sorts before "\uFB01"
  assert.is(canonicalJson({ '\uFB01': 1, '\u{1F600}': 2, a: 3 }), '{"a":3,"\u{1F600}":2,"\uFB01":1}')
})

test('canonical JSON refuses what it cannot encode exactly', () => {
  for (const bad of [0.5, Number.NaN, Infinity, 2 ** 53, 1n, new Date(0), new Uint8Array(1), () => 1, Symbol('x'), [undefined]]) {
    assert.throws(() => canonicalJson(bad), (e: unknown) => e instanceof CanonicalJsonError && e.code === 'ERR_SDL_CANONICAL', String(bad))
  }
  assert.throws(() => canonicalJson({ a: { b: [1, 0.25] } }), /a\.b\[1\]: 0\.25 is not a safe integer/)
  const cyclic: any = { a: 1 }
  cyclic.self = cyclic
  assert.throws(() => canonicalJson(cyclic), /nested deeper/)
})

test('the manifest hash is sha256 of the canonical bytes', () => {
  const r = loadSdl(full)
  const bytes = canonicalManifestBytes(r.manifest)
  assert.is(r.manifestHash, createHash('sha256').update(bytes).digest('hex'))
  assert.is(r.manifestHash, manifestHash(r.manifest))
  assert.is(Buffer.from(bytes).toString('utf8'), canonicalJson(r.manifest))
  // a manifest decoded from its canonical bytes hashes the same (what a provider checks)
  assert.is(manifestHash(JSON.parse(Buffer.from(bytes).toString('utf8'))), r.manifestHash)
})

test('same file → same hash; map key order does not matter', () => {
  const a = loadSdl(full)
  const b = loadSdl(full)
  const c = loadSdl(fixture('full-reordered.yaml'))
  assert.is(a.manifestHash, b.manifestHash)
  assert.is(c.manifestHash, a.manifestHash)
  assert.equal(c.manifest, a.manifest)
  assert.equal(c.groups, a.groups)
})

test('comments, quoting and flow style do not matter; content does', () => {
  const base = loadSdl(full).manifestHash
  assert.is(loadSdl('# a comment\n' + full.replace('image: souk/busybox:latest', "image: 'souk/busybox:latest'")).manifestHash, base)
  assert.is(loadSdl(full.replace('env: [MODE=worker]', 'env:\n      - "MODE=worker"')).manifestHash, base)
  // a changed env value changes it
  assert.is.not(loadSdl(full.replace('GREETING=hello', 'GREETING=hullo')).manifestHash, base)
  // so does env order (env is a list, kept in the order written)
  assert.is.not(loadSdl(full.replace('      - GREETING=hello\n      - EMPTY=\n', '      - EMPTY=\n      - GREETING=hello\n')).manifestHash, base)
  // and a replica count, an image, a port
  assert.is.not(loadSdl(full.replace('count: 2', 'count: 3')).manifestHash, base)
  assert.is.not(loadSdl(full.replace('port: 9000', 'port: 9001')).manifestHash, base)
})

test('a known vector: the smallest deployment', () => {
  const text = [
    'version: "2.0"',
    'services: { web: { image: nginx } }',
    'profiles:',
    '  compute: { web: { resources: { cpu: { units: 0.5 }, memory: { size: 512Mi }, storage: { size: 1Gi } } } }',
    '  placement: { dc: { pricing: { web: { denom: uakt, amount: 100 } } } }',
    'deployment: { web: { dc: { profile: web, count: 1 } } }'
  ].join('\n')
  const r = loadSdl(text)
  const json = '{"endpoints":{},"groups":[{"name":"dc","services":[{"count":1,"env":[],"expose":[],"image":"nginx","name":"web","profile":"web",' +
    '"resources":{"cpu":500,"gpu":{"models":[],"units":0},"memory":536870912,"storage":[{"name":"default","persistent":false,"size":1073741824}]},"storage":{}}]}],"version":"2.0"}'
  assert.is(canonicalJson(r.manifest), json)
  assert.is(r.manifestHash, createHash('sha256').update(json).digest('hex'))
})

test.run()
