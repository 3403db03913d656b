// The daemon's control routes as the CLI calls them: the route table's typed client against
// registerRoutes on a real socket. The tenant role is a stand-in that reports progress the way
// tenant.deploy does (the whole deploy runs in test/e2e); what is tested is the route's stream.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { controlServer, controlClient, routePath, leaseStatusAnswer, providerStatusAnswer, ApiError } from '../../src/api/index.ts'
import type { DeployLine } from '../../src/api/index.ts'
import { registerRoutes } from '../../src/node/control-routes.ts'
import type { Souk } from '../../src/node/create-node.ts'
import type { DeployOptions } from '../../src/node/tenant/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'souk-routes-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

const order = 'ab'.repeat(32)

/** a node whose tenant deploys by reporting three steps, one of them late, then the lease (or a failure) */
function standIn (fail: boolean): Souk {
  const tenant = {
    async deploy (sdl: string, opts: DeployOptions) {
      opts.onProgress?.({ type: 'deploy:validated', detail: { totals: '1 cpu', groups: 1, notices: 0, noticeList: [] } })
      opts.onProgress?.({ type: 'deploy:order-published', detail: { order, bidDeadline: 1 } })
      await new Promise((resolve) => setTimeout(resolve, 20))
      opts.onProgress?.({ type: 'deploy:bid', detail: { bids: 1, provider: 'p', prices: [{ denom: 'usouk', amount: '5' }] } })
      if (fail) throw Object.assign(new Error(`no bids for ${sdl}`), { code: 'ERR_NO_BIDS' })
      return { order, state: 'running', createdAt: 1, bidDeadline: 1, totals: '1 cpu', orderBytes: new Uint8Array([1]), manifest: new Uint8Array([2]) }
    }
  }
  // registerRoutes reads node.metrics when it registers; the deploy route reads node.tenant
  return { tenant, metrics: undefined } as unknown as Souk
}

async function serve (name: string, node: Souk): Promise<{ client: ReturnType<typeof controlClient>, stop: () => Promise<void> }> {
  const socketPath = join(dir, `${name}.sock`)
  const server = controlServer({ socketPath })
  registerRoutes(server, node, { stop: () => {} })
  await server.start()
  return { client: controlClient({ socketPath }), stop: async () => await server.stop() }
}

test('POST /v1/deploy streams every progress event in order, then the deployment without its bytes', async () => {
  const { client, stop } = await serve('ok', standIn(false))
  try {
    const lines: DeployLine[] = []
    for await (const l of client.lines('POST /v1/deploy', { body: { sdl: 'web.yaml' } })) lines.push(l)
    assert.equal(lines.map((l) => l.event?.type ?? (l.result != null ? 'result' : 'error')), ['deploy:validated', 'deploy:order-published', 'deploy:bid', 'result'])
    assert.equal(lines[2].event?.detail?.prices, [{ denom: 'usouk', amount: '5' }])
    const result = lines[3].result
    assert.is(result?.order, order)
    assert.is(result?.state, 'running')
    assert.not.ok(result != null && 'orderBytes' in result, 'the order bytes stay in the daemon')
  } finally {
    await stop()
  }
})

test('a deploy that fails ends the stream with its code and message; a body without sdl is refused', async () => {
  const { client, stop } = await serve('fail', standIn(true))
  try {
    const seen: string[] = []
    try {
      for await (const l of client.lines('POST /v1/deploy', { body: { sdl: 'web.yaml' } })) seen.push(l.event?.type ?? '?')
      assert.unreachable('the stream ends with the error')
    } catch (err) {
      assert.instance(err, ApiError)
      assert.is((err as ApiError).code, 'ERR_NO_BIDS')
      assert.is((err as ApiError).message, 'no bids for web.yaml')
    }
    assert.equal(seen, ['deploy:validated', 'deploy:order-published', 'deploy:bid'])
    try {
      await client.post('/v1/deploy/dry-run', { sdl: 42 })
      assert.unreachable()
    } catch (err) {
      assert.is((err as ApiError).code, 'ERR_BAD_REQUEST')
    }
  } finally {
    await stop()
  }
})

test('a route of the table: its path parameters are encoded, and a role the node lacks is named', async () => {
  assert.is(routePath('/v1/leases/:id/logs', { id: 'a/b c' }, { tail: '5' }), '/v1/leases/a%2Fb%20c/logs?tail=5')
  assert.throws(() => routePath('/v1/leases/:id', {}), (err: unknown) => err instanceof ApiError && /no value for :id/.test(err.message))
  const { client, stop } = await serve('roles', { metrics: undefined } as unknown as Souk)
  try {
    await client.call('GET /v1/leases/:id', { params: { id: order } })
    assert.unreachable()
  } catch (err) {
    assert.is((err as ApiError).code, 'ERR_ROLE_NOT_RUNNING')
    assert.match((err as ApiError).message, /tenant role/)
  } finally {
    await stop()
  }
})

test('answers the daemon does not type end to end are checked before they leave', () => {
  const deployment = { order, state: 'running', totals: '1 cpu', createdAt: 1, bidDeadline: 1 }
  assert.is(leaseStatusAnswer({ deployment, provider: { recent: [] } }).deployment.order, order)
  assert.throws(() => leaseStatusAnswer({ deployment: { order } }), /deployment\.state is not a string/)
  assert.throws(() => leaseStatusAnswer({ deployment, chain: 'x' }), /chain is not a list/)
  const resources = { cpu: 1000, memory: 1, gpus: [] }
  const provider = { runtime: 'docker', attributes: {}, capacity: resources, free: resources, reservations: [], leases: [] }
  assert.is(providerStatusAnswer(provider).runtime, 'docker')
  assert.throws(() => providerStatusAnswer({ ...provider, free: { cpu: '1' } }), /free\.cpu is not a number/)
})

test.run()
