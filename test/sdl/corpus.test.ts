// Every published deployment file in the corpus (test/fixtures/sdl-corpus, see its NOTICE.md) loads, validates and yields totals.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadSdlFile, formatTotals, SdlValidationError } from '../../src/sdl/index.ts'
import type { LoadedSdl } from '../../src/sdl/index.ts'

const dir = new URL('../fixtures/sdl-corpus/', import.meta.url).pathname
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()

test('the corpus holds the 257 files', () => {
  assert.is(files.length, 257)
})

test('every corpus file loads and yields totals (all failures listed)', async () => {
  const failures: string[] = []
  const loaded = new Map<string, LoadedSdl>()
  for (const f of files) {
    try {
      const r = await loadSdlFile(join(dir, f))
      loaded.set(f, r)
      const t = r.totals
      if (!(t.cpu > 0 && t.memory > 0 && t.count > 0)) failures.push(`${f}: empty totals ${formatTotals(t)}`)
      if (!/^[0-9a-f]{64}$/.test(r.manifestHash)) failures.push(`${f}: bad hash ${r.manifestHash}`)
      if (r.manifest.groups.length === 0 || r.groups.length !== r.manifest.groups.length) failures.push(`${f}: groups do not match the manifest`)
      for (const g of r.groups) if (!/^[0-9]+(\.[0-9]+)?$/.test(g.maxPrice.amount)) failures.push(`${f}: group ${g.name} maxPrice ${g.maxPrice.amount}`)
    } catch (err: any) {
      const detail = err instanceof SdlValidationError ? err.errors.map((e) => `\n    ${e.path}: ${e.message}`).join('') : ` ${err.code ?? ''} ${err.message}`
      failures.push(`${f}:${detail}`)
    }
  }
  assert.is(failures.length, 0, `${failures.length} corpus file(s) failed:\n  ${failures.join('\n  ')}`)
  assert.is(loaded.size, files.length)
})

test('corpus slips are read leniently and reported, never silently', async () => {
  const notices = async (f: string): Promise<string[]> => (await loadSdlFile(join(dir, f))).notices.map((n) => `${n.path}: ${n.message}`)
  assert.ok((await notices('teamspeak__deploy.yaml')).some((n) => n.includes('document start marker')))
  assert.ok((await notices('wordpress__deploy.yaml')).some((n) => n.startsWith('line 26: a quoted string continues')))
  const pokt = await notices('pokt-network__deploy.yml')
  assert.ok(pokt.some((n) => n.startsWith('services.profiles: is the top-level profiles section')))
  assert.ok(pokt.some((n) => n.startsWith('deployment.pokt-node: no service named "pokt-node"')))
  assert.ok((await notices('Venice-ElizaOS__deploy.yml')).some((n) => n.includes('read as 16')))
  assert.ok((await notices('matomo__deploy.yaml')).some((n) => n.startsWith('services.db.expose[0].to[0].servcie: unknown key')))
  // Akash's own auditor is an account address: no souk provider can meet it, and the tenant is told
  assert.ok((await notices('Grav__deploy.yaml')).some((n) => n.startsWith('profiles.placement.akash.signedBy.anyOf[0]: akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63 is an Akash account address')))
  const wp = await loadSdlFile(join(dir, 'wordpress__deploy.yaml'))
  const args = wp.manifest.groups.flatMap((g) => g.services).find((s) => s.name === 'wordpress')?.args
  assert.ok(args?.[0].endsWith('.htaccess; }; exec docker-entrypoint.sh apache2-foreground'), String(args?.[0]))
})

test('ip endpoints are kept in the manifest and reported', async () => {
  const r = await loadSdlFile(join(dir, 'handshake__deploy.yaml'))
  assert.equal(r.manifest.endpoints, { hnsep1: { kind: 'ip' } })
  const tos = r.manifest.groups.flatMap((g) => g.services).flatMap((s) => s.expose).flatMap((e) => e.to)
  assert.ok(tos.some((t) => t.ip === 'hnsep1' && t.global))
  assert.ok(r.notices.some((n) => n.path.endsWith('.ip') && n.message.includes('hnsep1')))
})

test.run()
