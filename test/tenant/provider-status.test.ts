// A provider's status comes from another node: the tenant reads only the fields it acts on, each
// with its type checked, so a provider that sends nonsense cannot make it run, fail or list
// services that are not there.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readStatus } from '../../src/node/tenant/provider-link.ts'

test('a running lease\'s status gives its state and services with their URLs', () => {
  const s = readStatus({ state: 'running', sequence: 1, lastUpdate: { sequence: 1 }, deployed: { services: [{ name: 'web', ready: 1, count: 2, urls: [{ url: 'http://127.0.0.1:30001' }] }] } })
  assert.equal(s, { state: 'running', sequence: 1, closeReason: undefined, error: undefined, lastUpdate: { sequence: 1, error: undefined }, services: [{ name: 'web', ready: 1, count: 2, urls: ['http://127.0.0.1:30001'] }] })
})

test('fields of the wrong type are left out', () => {
  const s = readStatus({ state: 7, sequence: '1', error: { no: 1 }, closeReason: null, lastUpdate: { sequence: 'x', error: 'e' }, deployed: { services: 'web' } })
  assert.equal(s, { state: undefined, sequence: undefined, closeReason: undefined, error: undefined, lastUpdate: undefined, services: [] })
})

test('a status that is not an object is no status', () => {
  for (const v of [undefined, null, 'running', 3, ['running']]) assert.is(readStatus(v), undefined)
})

test.run()
