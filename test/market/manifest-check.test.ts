// The provider's one reading of a manifest (protocols/manifest.md §4): every published deployment
// file passes it, and the hostile manifests a tenant can sign an order over are refused with the
// path of the field that is wrong.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readManifest, ManifestRefusal } from '../../src/net/index.ts'
import { buildOrder } from '../../src/market/order-builder.ts'
import { loadSdl, loadSdlFile, canonicalManifestBytes, canonicalJson } from '../../src/sdl/index.ts'
import type { Manifest } from '../../src/sdl/index.ts'
import type { OrderBody } from '../../src/wire/index.ts'

const corpus = new URL('../fixtures/sdl-corpus/', import.meta.url).pathname
const web = loadSdl(readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8'))
const order = buildOrder(web, { bidWindowMs: 1000, now: Date.now() })
const TB = 1000 ** 4

function bytesOf (value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value))
}

/** the web manifest with `change` applied to its one service */
function hostile (change: (s: any, m: any) => void): Uint8Array {
  const m = structuredClone(web.manifest) as any
  change(m.groups[0].services[0], m)
  return bytesOf(m)
}

function refused (bytes: Uint8Array, o: OrderBody = order): { code: string, path: string, reason: string } {
  const r = readManifest(bytes, o)
  if (r.ok) throw new assert.Assertion({ message: 'the manifest was accepted', expects: 'a refusal', actual: 'ok', operator: 'refused' })
  return r
}

test('every corpus file\'s manifest passes the provider\'s reading against its own order, unchanged', async () => {
  const files = readdirSync(corpus).filter((f) => /\.ya?ml$/.test(f)).sort()
  assert.is(files.length, 257)
  const failures: string[] = []
  for (const f of files) {
    const loaded = await loadSdlFile(join(corpus, f))
    const o = buildOrder(loaded, { bidWindowMs: 1000, now: Date.now() })
    const r = readManifest(canonicalManifestBytes(loaded.manifest), o)
    if (!r.ok) failures.push(`${f}: ${r.code} ${r.path}: ${r.reason}`)
    else if (canonicalJson(r.manifest) !== canonicalJson(loaded.manifest)) failures.push(`${f}: read back differently`)
  }
  assert.is(failures.length, 0, failures.join('\n'))
})

test('the manifest of the report: memory 0, a 5 TB ram volume and a −4.999 TB volume that fit the order\'s totals', () => {
  const m = structuredClone(web.manifest) as Manifest
  const s = m.groups[0].services[0]
  s.resources.memory = 0
  s.resources.storage = [
    { name: 'default', size: 5 * TB, persistent: false, class: 'ram' },
    { name: 'data', size: -(5 * TB - 128 * 1024 ** 2), persistent: true, class: 'beta2' }
  ]
  // what the old check added up: the totals fit
  assert.ok(s.resources.storage.reduce((a, x) => a + x.size, 0) <= order.groups[0].resources[0].storage.reduce((a, x) => a + x.size, 0))
  const r = refused(bytesOf(m))
  assert.is(r.code, ManifestRefusal.INVALID_MANIFEST)
  assert.is(r.path, 'groups[0].services[0].resources.memory')
  assert.match(r.reason, /at least 1 bytes/)
  // each of its parts alone is refused too, at its own path
  const big = refused(hostile((x) => { x.resources.storage = [{ name: 'default', size: 5 * TB, persistent: false, class: 'ram' }] }))
  assert.equal([big.code, big.path], [ManifestRefusal.EXCEEDS_ORDER, 'groups[0].services[0].resources.storage[0].class'])
  const negative = refused(hostile((x) => { x.resources.storage[0].size = -1 }))
  assert.equal([negative.code, negative.path], [ManifestRefusal.INVALID_MANIFEST, 'groups[0].services[0].resources.storage[0].size'])
})

test('quantities: whole numbers in their unit, with a minimum; text, fractions, null and huge values are refused', () => {
  const cases: Array<[string, (s: any) => void, string]> = [
    ['memory as text', (s) => { s.resources.memory = '64Mi' }, 'resources.memory'],
    ['memory null', (s) => { s.resources.memory = null }, 'resources.memory'],
    ['cpu 0', (s) => { s.resources.cpu = 0 }, 'resources.cpu'],
    ['negative cpu', (s) => { s.resources.cpu = -250 }, 'resources.cpu'],
    ['cpu as a list', (s) => { s.resources.cpu = [250] }, 'resources.cpu'],
    ['count 0', (s) => { s.count = 0 }, 'count'],
    ['count as text', (s) => { s.count = '1' }, 'count'],
    ['storage size 0', (s) => { s.resources.storage[0].size = 0 }, 'resources.storage[0].size'],
    ['gpu units as boolean', (s) => { s.resources.gpu.units = true }, 'resources.gpu.units'],
    ['port 0', (s) => { s.expose[0].port = 0 }, 'expose[0].port'],
    ['port above 65535', (s) => { s.expose[0].as = 70000 }, 'expose[0].as'],
    ['memory beyond a safe integer', (s) => { s.resources.memory = 2 ** 60 }, 'resources.memory']
  ]
  for (const [what, change, path] of cases) {
    const m = structuredClone(web.manifest) as any
    change(m.groups[0].services[0])
    let bytes: Uint8Array
    try { bytes = bytesOf(m) } catch { bytes = new TextEncoder().encode(JSON.stringify(m)) }
    const r = refused(bytes)
    assert.is(r.code, ManifestRefusal.INVALID_MANIFEST, what)
    assert.is(r.path, `groups[0].services[0].${path}`, what)
  }
  // a fraction cannot even be written canonically: refused before its meaning is looked at
  const frac = new TextEncoder().encode(canonicalJson(web.manifest).replace('"memory":67108864', '"memory":67108864.5'))
  assert.is(refused(frac).code, ManifestRefusal.INVALID_MANIFEST)
  const nan = new TextEncoder().encode(canonicalJson(web.manifest).replace('"cpu":250', '"cpu":NaN'))
  assert.equal([refused(nan).path, refused(nan).reason], ['(manifest)', 'is not JSON'])
})

test('each service is compared with the order\'s resource unit of the same name, each volume by name, class and size', () => {
  const cases: Array<[string, (s: any, m: any) => void, string, string]> = [
    ['more memory', (s) => { s.resources.memory *= 2 }, 'exceeds-order', 'resources.memory'],
    ['more cpu', (s) => { s.resources.cpu += 1 }, 'exceeds-order', 'resources.cpu'],
    ['more replicas', (s) => { s.count = 2 }, 'exceeds-order', 'count'],
    ['a bigger volume', (s) => { s.resources.storage[0].size += 1 }, 'exceeds-order', 'resources.storage[0].size'],
    ['a volume the order does not have', (s) => { s.resources.storage.push({ name: 'extra', size: 1, persistent: true, class: 'beta2' }) }, 'exceeds-order', 'resources.storage[1].name'],
    ['ephemeral made persistent', (s) => { s.resources.storage[0].persistent = true; s.resources.storage[0].class = 'beta2' }, 'exceeds-order', 'resources.storage[0].persistent'],
    ['ephemeral made ram', (s) => { s.resources.storage[0].class = 'ram' }, 'exceeds-order', 'resources.storage[0].class'],
    ['GPUs the order did not ask for', (s) => { s.resources.gpu = { units: 1, models: [{ vendor: 'nvidia' }] } }, 'exceeds-order', 'resources.gpu.units'],
    ['a service the order does not name', (s) => { s.name = 'other' }, 'exceeds-order', 'name']
  ]
  for (const [what, change, code, path] of cases) {
    const r = refused(hostile(change))
    assert.equal([r.code, r.path], [code, `groups[0].services[0].${path}`], what)
  }
  const g = refused(hostile((_s, m) => { m.groups[0].name = 'elsewhere' }))
  assert.equal([g.code, g.path], ['exceeds-order', 'groups[0].name'])
  // less than ordered is fine
  assert.ok(readManifest(hostile((s) => { s.resources.memory = 32 * 1024 * 1024; s.resources.storage[0].size = 1 }), order).ok)
})

test('unknown fields, non-canonical bytes and reserved mounts are refused', () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['a field the manifest does not have', hostile((s) => { s.privileged = true }), 'groups[0].services[0].privileged'],
    ['an unknown resource', hostile((s) => { s.resources.hugepages = 1 }), 'groups[0].services[0].resources.hugepages'],
    ['an unknown top-level field', hostile((_s, m) => { m.hostNetwork = true }), 'hostNetwork'],
    ['a mount of /proc', hostile((s) => { s.resources.storage.push({ name: 'data', size: 1, persistent: true, class: 'beta2' }); s.storage = { data: { mount: '/proc/sys', readOnly: false } } }), 'groups[0].services[0].storage.data.mount'],
    ['a mount of a volume that does not exist', hostile((s) => { s.storage = { ghost: { mount: '/data', readOnly: false } } }), 'groups[0].services[0].storage.ghost'],
    ['a NUL in the environment', hostile((s) => { s.env = ['A=b\u0000c'] }), 'groups[0].services[0].env[0]'],
    ['two services of one name', hostile((s, m) => { m.groups[0].services.push(structuredClone(s)) }), 'groups[0].services[1].name']
  ]
  for (const [what, bytes, path] of cases) {
    const r = refused(bytes)
    assert.equal([r.code, r.path], ['invalid-manifest', path], what)
  }
  const spaced = new TextEncoder().encode(JSON.stringify(web.manifest, null, 1))
  assert.match(refused(spaced).reason, /canonical/)
  const dup = new TextEncoder().encode(canonicalJson(web.manifest).replace('{"endpoints":{}', '{"endpoints":{},"endpoints":{}'))
  assert.match(refused(dup).reason, /canonical/)
  assert.equal(refused(new TextEncoder().encode('[]')).path, '(manifest)')
  assert.equal(refused(new Uint8Array([0xff, 0xfe])).reason, 'is not JSON')
})

test.run()
