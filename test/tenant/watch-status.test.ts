// A deployment coming up is followed through the provider's lease events, not by asking its
// status every few milliseconds: one status request at the start and one per burst of events.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { watchStatus } from '../../src/node/tenant/provider-link.ts'
import type { TenantContext } from '../../src/node/tenant/context.ts'
import type { Deployment } from '../../src/node/tenant/index.ts'
import type { LeaseRequest, LeaseResponse } from '../../src/net/index.ts'

async function scenario (streamsEvents: boolean, flood = false): Promise<{ requests: string[], state: string | undefined, ms: number }> {
  const provider = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const d = { order: 'ab'.repeat(32), state: 'deploying', createdAt: Date.now(), bidDeadline: Date.now(), totals: '', provider: provider.toString() } as Deployment
  const requests: string[] = []
  let state = 'deploying'
  let push: (() => void) | undefined
  const ctx = {
    deployments: { heard: () => {} },
    net: {
      leaseRequest: (_to: unknown, req: LeaseRequest, opts: { signal?: AbortSignal }): AsyncGenerator<LeaseResponse> => (async function * () {
        requests.push(req.type)
        if (req.type === 'status') { yield { kind: 'status', status: { state } }; return }
        if (!streamsEvents) { yield { kind: 'error', code: 'unsupported', reason: 'no events here' }; return }
        const aborted = (): boolean => opts.signal?.aborted === true
        while (!aborted()) {
          if (!flood) await new Promise<void>((resolve) => { push = resolve; opts.signal?.addEventListener('abort', () => resolve(), { once: true }) })
          else await new Promise((resolve) => setImmediate(resolve))
          if (!aborted()) yield { kind: 'event', event: { type: 'lease:running', time: Date.now() } }
        }
      })()
    }
  } as unknown as TenantContext
  // the services come up 350 ms in, and the provider says so on its event stream
  setTimeout(() => { state = 'running'; push?.() }, 350)
  const started = Date.now()
  const st = await watchStatus(ctx, d, { runTimeoutMs: 10_000 }, (s) => s?.state === 'running' ? s : undefined)
  return { requests, state: st?.state, ms: Date.now() - started }
}

test('the status is asked again when the provider streams an event, not on a timer', async () => {
  const r = await scenario(true)
  assert.is(r.state, 'running')
  assert.equal(r.requests.filter((x) => x === 'status').length, 2, `status asked ${r.requests.filter((x) => x === 'status').length} times: ${r.requests.join(',')}`)
  assert.equal(r.requests.filter((x) => x === 'events').length, 1)
})

test('a provider that streams no events is still followed, at the fallback pace', async () => {
  const r = await scenario(false)
  assert.is(r.state, 'running')
  assert.is(r.requests.filter((x) => x === 'status').length, 2, 'once at the start, once after the fallback period')
})

test('a provider streaming events without pause gets one status request per gap, not one per event', async () => {
  const r = await scenario(true, true)
  assert.is(r.state, 'running')
  const asked = r.requests.filter((x) => x === 'status').length
  // 350 ms at one request per 50 ms at most, with room for timers that fire late
  assert.ok(asked <= 10, `status asked ${asked} times in ${r.ms} ms`)
})

test.run()
