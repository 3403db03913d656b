// Akash files name auditors by account address. A tenant maps them to souk auditor keys in
// souk.yaml (tenant.akashAuditors); the order then asks for the souk key, and the notice that no
// provider can ever bid turns into one saying what was mapped.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { loadSdl } from '../../src/sdl/index.ts'
import { mapAkashAuditors } from '../../src/node/tenant/index.ts'
import { akashAuditorMap } from '../../src/config/tenant.ts'
import { resolveConfig, ConfigError } from '../../src/config/index.ts'
import { buildOrder } from '../../src/market/index.ts'

const AUDITOR = 'akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63'
const KEY = 'ab'.repeat(32)
const web = readFileSync(new URL('../../examples/web.yaml', import.meta.url), 'utf8')
  .replace('      attributes:\n        region: local\n', `      attributes:\n        region: local\n      signedBy:\n        anyOf:\n          - ${AUDITOR}\n`)

test('unmapped: the notice says what to add to souk.yaml', () => {
  const loaded = loadSdl(web)
  const n = loaded.notices.find((x) => x.message.includes(AUDITOR))
  assert.ok(n != null)
  assert.match(n.message, /tenant\.akashAuditors/)
  assert.is(mapAkashAuditors(loaded, new Map()), loaded)
})

test('mapped: the order asks for the souk key, and the notice says so', () => {
  const config = resolveConfig({ tenant: { akashAuditors: [`${AUDITOR}=${KEY}`] } }, { env: {} })
  const loaded = mapAkashAuditors(loadSdl(web), akashAuditorMap(config.tenant))
  assert.equal(loaded.groups[0].signedBy.anyOf, [KEY])
  assert.not.ok(loaded.notices.some((x) => /no bid unless/.test(x.message)))
  assert.ok(loaded.notices.some((x) => x.message.includes(`ordered as souk auditor ${KEY}`)))
  const order = buildOrder(loaded, { bidWindowMs: 1000, now: Date.now() })
  assert.equal(order.groups[0].signedBy.anyOf, [KEY])
})

test('a malformed entry is a configuration error naming its path', () => {
  try {
    resolveConfig({ tenant: { akashAuditors: ['akash1xyz'] } }, { env: {} })
    assert.unreachable()
  } catch (err: any) {
    assert.instance(err, ConfigError)
    assert.match(err.message, /tenant\.akashAuditors\[0\]/)
  }
})

test.run()
