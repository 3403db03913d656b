// The provider reads the lease machinery's and the runtime's progress events (a type string and an
// untyped detail) into typed lifecycle events once; history, routes, metering and engine watches
// react to those. A detail of the wrong shape is read as empty, never thrown on.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { lifecycleEvent, historyEntry } from '../../src/node/provider/index.ts'

const leaseId = 'ab'.repeat(32)

test('each lease step becomes its typed event, and its history entry', () => {
  const running = lifecycleEvent({ leaseId, type: 'lease:running', detail: { services: [{ name: 'web', ready: 2, count: 2, urls: [] }] } })
  assert.equal(running, { type: 'lease:running', leaseId, services: [{ name: 'web', ready: 2, count: 2 }] })
  assert.equal(historyEntry(running!), { type: 'lease:running', message: 'web 2/2' })
  const failed = lifecycleEvent({ leaseId, type: 'lease:update-failed', detail: { sequence: 3, error: 'image not found' } })
  assert.equal(historyEntry(failed!), { type: 'lease:update-failed', message: 'manifest 3 failed, the previous one keeps running: image not found' })
  const closed = lifecycleEvent({ leaseId, type: 'lease:closed', detail: { reason: 'closed by the tenant' } })
  assert.equal(closed, { type: 'lease:closed', leaseId, reason: 'closed by the tenant' })
  const manifest = { groups: [{ name: 'g', services: [{ name: 'web', image: 'nginx', count: 1 }] }] }
  assert.equal(historyEntry(lifecycleEvent({ leaseId, type: 'manifest:accepted', detail: { sequence: 0, manifest } })!), { type: 'manifest:received', message: 'manifest 0: web (nginx) ×1' })
})

test('the runtime\'s steps are kept under the history\'s names', () => {
  assert.equal(historyEntry(lifecycleEvent({ leaseId, type: 'runtime:image:pull', detail: { image: 'nginx:1', credentials: false } })!), { type: 'image:pull', message: 'nginx:1' })
  assert.equal(historyEntry(lifecycleEvent({ leaseId, type: 'runtime:replica:create', detail: { name: 'web-0' } })!), { type: 'replica:created', replica: 'web-0' })
  assert.equal(historyEntry(lifecycleEvent({ leaseId, type: 'runtime:workload:create', detail: { kind: 'Deployment', name: 'web' } })!), { type: 'workload:created', message: 'web' })
  // steps nothing reacts to are not events
  assert.is(lifecycleEvent({ leaseId, type: 'runtime:firewall:install', detail: { bridge: 'br-1' } }), undefined)
})

test('a detail of the wrong shape is read as empty', () => {
  assert.equal(lifecycleEvent({ leaseId, type: 'lease:running', detail: 'nonsense' }), { type: 'lease:running', leaseId, services: [] })
  assert.equal(lifecycleEvent({ leaseId, type: 'lease:running', detail: { services: [null, 7] } }), { type: 'lease:running', leaseId, services: [{ name: '', ready: 0, count: 0 }, { name: '', ready: 0, count: 0 }] })
  assert.equal(lifecycleEvent({ leaseId, type: 'manifest:update-accepted', detail: { manifest: { groups: 'x' } } }), { type: 'manifest:update-accepted', leaseId, sequence: 0, manifest: undefined })
  assert.equal(lifecycleEvent({ leaseId, type: 'lease:closed' }), { type: 'lease:closed', leaseId, reason: '' })
})

test.run()
