// A provider may hear of a lease later than its tenant (over a continent, from validators further
// away): the tenant sends the first manifest again while the provider answers `unknown-lease`,
// for a bounded time, and takes any other answer as final.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { deliver } from '../../src/node/tenant/deliver.ts'
import type { TenantContext } from '../../src/node/tenant/context.ts'
import type { Deployment } from '../../src/node/tenant/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { ManifestRefusal } from '../../src/net/index.ts'
import type { LeaseRequest, LeaseResponse, ManifestResult } from '../../src/net/index.ts'

const silent = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silent }

/** a tenant whose provider answers the n-th manifest send with `answers(n)` and then runs the services */
async function scenario (answers: (n: number) => ManifestResult): Promise<{ sends: number[], events: string[], state?: string, error?: string, ms: number }> {
  const provider = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const d = { order: 'cd'.repeat(32), state: 'leased', createdAt: Date.now(), bidDeadline: Date.now(), totals: '', provider: provider.toString(), manifest: new TextEncoder().encode('{}') } as unknown as Deployment
  const sends: number[] = []
  const events: string[] = []
  const started = Date.now()
  const ctx = {
    identity: generateIdentity(),
    logger: silent,
    stopping: new AbortController().signal,
    // the Close of a failed deployment would go out in the background: nothing to send it to here
    background: (_what: string, _d: Deployment, p: Promise<unknown>) => { p.catch(() => {}) },
    deployments: { save: () => {}, heard: () => {} },
    net: {
      sendManifest: async (): Promise<ManifestResult> => { sends.push(Date.now() - started); return answers(sends.length) },
      // the provider's side after it took the manifest is not what is tested here
      leaseRequest: (_to: unknown, req: LeaseRequest): AsyncGenerator<LeaseResponse> => (async function * () {
        if (req.type === 'status') yield { kind: 'status', status: { state: 'running', services: [{ name: 'web', count: 1, ready: 1, urls: [] }] } }
        else yield { kind: 'error', code: 'unsupported', reason: 'no events here' }
      })()
    }
  } as unknown as TenantContext
  try {
    await deliver(ctx, d, { runTimeoutMs: 300 }, (e) => events.push(e.type))
  } catch (err) {
    return { sends, events, error: (err as Error).message, state: d.state, ms: Date.now() - started }
  }
  return { sends, events, state: d.state, ms: Date.now() - started }
}

const unknown: ManifestResult = { ok: false, code: ManifestRefusal.UNKNOWN_LEASE, reason: 'no final lease with that ID here' }

test('refused with unknown-lease twice, then taken: the manifest is accepted on the third send', async () => {
  const r = await scenario((n) => n <= 2 ? unknown : { ok: true })
  assert.ok(r.events.includes('deploy:manifest-accepted'), `${r.events.join(', ')}: ${r.error ?? ''}`)
  assert.is(r.sends.length, 3)
  // resent after 100 ms, then after 200 ms more
  assert.ok(r.sends[1] >= 90 && r.sends[2] - r.sends[1] >= 190, `sent at ${r.sends.join(', ')} ms`)
})

test('any other refusal is final: sent once', async () => {
  const r = await scenario(() => ({ ok: false, code: ManifestRefusal.HASH_MISMATCH, reason: 'not the order\'s manifest' }))
  assert.is(r.sends.length, 1)
  assert.is(r.state, 'failed')
  assert.not.ok(r.events.includes('deploy:manifest-accepted'))
  assert.match(r.error ?? '', /provider refused the manifest: .*\(hash-mismatch\)/)
})

test('a provider that never learns the lease: the tenant gives up after about 10 s and says why', async () => {
  const r = await scenario(() => unknown)
  assert.is(r.state, 'failed')
  assert.match(r.error ?? '', /provider refused the manifest: .*\(unknown-lease\)/)
  // 100, 200, 400, 800 ms, then a second apart: about 14 sends in 10 s, never more than one a 100 ms
  assert.ok(r.sends.length >= 10 && r.sends.length <= 16, `${r.sends.length} sends`)
  assert.ok(r.ms >= 9_000 && r.ms <= 12_000, `gave up after ${r.ms} ms`)
})

test.run()
