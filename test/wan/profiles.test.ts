// The profiles give the links they promise: continents round trips are the table's, lan is a
// data centre, lossy keeps the continents delays with more loss and less bandwidth; bad names and
// values are typed errors naming what is wrong.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { REGIONS, regionRttMs, wanProfile, checkLinkParams, WanError, WanErrorCode, INTRA_REGION_RTT_MS, checkWanSettings, wanNetwork, wanDialInit } from '../../src/net/wan/index.ts'

test('continents: one-way delay is half the table round trip, symmetric, within a region 2 ms', () => {
  const p = wanProfile('continents')
  assert.is(regionRttMs('us-east', 'eu-central'), 88.7)
  assert.is(regionRttMs('ap-northeast', 'sa-east'), 256.8)
  for (const a of REGIONS) {
    for (const b of REGIONS) {
      const l = p.link(a, b)
      const back = p.link(b, a)
      assert.is(l.delayMs + back.delayMs, regionRttMs(a, b), `${a} → ${b}`)
      if (a === b) assert.is(regionRttMs(a, b), INTRA_REGION_RTT_MS)
      else assert.ok(regionRttMs(a, b) >= 80 && regionRttMs(a, b) <= 260, `${a} ↔ ${b} ${regionRttMs(a, b)} ms`)
      assert.ok(l.jitterMs < l.delayMs || a === b)
      assert.ok(l.rtoMs >= 200)
      assert.is(l.bandwidthBps, 100_000_000)
    }
  }
})

test('lan is faster than continents, lossy loses more with less bandwidth', () => {
  const lan = wanProfile('lan').link('us-east', 'ap-northeast')
  const cont = wanProfile('continents').link('us-east', 'ap-northeast')
  const lossy = wanProfile('lossy').link('us-east', 'ap-northeast')
  assert.ok(lan.delayMs < 1 && lan.loss === 0)
  assert.ok(cont.delayMs > 50 * lan.delayMs)
  assert.is(lossy.delayMs, cont.delayMs)
  assert.ok(lossy.loss > cont.loss && lossy.bandwidthBps < cont.bandwidthBps && lossy.jitterMs > cont.jitterMs)
})

test('unknown profile, unknown region and impossible link values are WanErrors', () => {
  const code = (fn: () => unknown): string => { try { fn(); return 'none' } catch (err) { assert.instance(err, WanError); return (err as WanError).code } }
  assert.is(code(() => wanProfile('moon')), WanErrorCode.UNKNOWN_PROFILE)
  assert.is(code(() => wanProfile('continents').link('us-east', 'mars' as any)), WanErrorCode.UNKNOWN_REGION)
  const good = { delayMs: 10, jitterMs: 1, loss: 0, rtoMs: 210, bandwidthBps: 0 }
  assert.is(code(() => checkLinkParams(good)), 'none')
  assert.is(code(() => checkLinkParams({ ...good, delayMs: -1 })), WanErrorCode.BAD_LINK)
  assert.is(code(() => checkLinkParams({ ...good, loss: 0.9 })), WanErrorCode.BAD_LINK)
  assert.is(code(() => checkLinkParams({ ...good, jitterMs: 50 })), WanErrorCode.BAD_LINK)
  assert.is(code(() => checkLinkParams({ ...good, bandwidthBps: NaN })), WanErrorCode.BAD_LINK)
  assert.is(code(() => checkLinkParams({ ...good, bandwidthBps: 100 })), WanErrorCode.BAD_LINK)
  assert.is(code(() => checkWanSettings({ profile: 'continents', seed: 1, region: 'us-east', peers: { 'nohost': 'us-east' } })), WanErrorCode.BAD_ADDRESS)
  assert.is(code(() => checkWanSettings({ profile: 'continents', seed: -1, region: 'us-east', peers: {} })), WanErrorCode.BAD_LINK)
  assert.is(code(() => checkWanSettings({ profile: 'continents', seed: 1, region: 'us-east', peers: { '127.0.0.1:4001': 'atlantis' } })), WanErrorCode.UNKNOWN_REGION)
})

test('a network plan spreads nodes over the regions and gives each dialer the path to each listener', () => {
  const net = wanNetwork({ profile: 'continents', seed: 7, nodes: [0, 1, 2, 3, 4, 5].map((i) => ({ name: `n${i}`, host: '127.0.0.1', port: 4000 + i })) })
  assert.equal(net.nodes.map((n) => n.region), ['us-east', 'us-west', 'eu-central', 'ap-northeast', 'sa-east', 'us-east'])
  const s = net.settingsFor('n2')
  assert.is(s.region, 'eu-central')
  const init = wanDialInit(s)
  const path = init.pathTo({ host: '127.0.0.1', port: 4003, rest: '' })!
  assert.is(path.out.delayMs + path.back.delayMs, regionRttMs('eu-central', 'ap-northeast'))
  assert.is(init.pathTo({ host: '127.0.0.1', port: 9999, rest: '' }), undefined)
})

test.run()
