// The daemon's control API routes (HTTP/JSON over the node's unix socket), used by the CLI.
import type { ControlServer, ControlRoutes, DeployLine, ExecInput, ExecOutput, ExecStart, RouteAnswer, RouteLine, RouteRequest, Unwire } from '../api/index.ts'
import { ApiError, leaseStatusAnswer, ndjsonLines, providerStatusAnswer, routeParts } from '../api/index.ts'
import { AsyncQueue } from '../runtime/streams.ts'
import { errorCode, errorField, errorMessage } from '../util/index.ts'
import { committeeFileToJson, ChangeAction } from '../committee/index.ts'
import { publicKeyOfPeerId } from '../identity/index.ts'
import type { Souk } from './create-node.ts'
import type { Deployment, DeployProgressEvent } from './tenant/index.ts'
import { healthMonitor } from './health.ts'
import { runtimeEndpoint } from './runtime-endpoint.ts'
import { reloadNode } from './reload.ts'
import { backupHome } from './backup.ts'
import { NodeError, NodeErrorCode } from './errors.ts'
import type { HealthInit, HealthMonitor } from './health.ts'

/** a deployment as the CLI shows it: without the order and manifest bytes */
export function deploymentView (d: Deployment): Omit<Deployment, 'orderBytes' | 'manifest' | 'close' | 'source'> {
  const { orderBytes: _o, manifest: _m, close: _c, source: _s, ...rest } = d
  return rest
}

function need<T> (role: T | undefined, name: string): T {
  if (role == null) throw new ApiError('ERR_ROLE_NOT_RUNNING', `this node does not run the ${name} role (see roles in souk.yaml)`, 400)
  return role
}

const bool = (v: string | null): boolean => v === '1' || v === 'true'

/** what a route's handler answers: the route table's shape (api/types.ts), bytes and bigints allowed where it has text */
type Answer<K extends keyof ControlRoutes> = Unwire<ControlRoutes[K]['line'] extends undefined ? RouteAnswer<K> : AsyncIterable<RouteLine<K>>>

/** one field of a parsed NDJSON line, whatever the line holds */
const lineField = (v: unknown, name: string): unknown => v != null && typeof v === 'object' ? (v as Record<string, unknown>)[name] : undefined

/** the first NDJSON line of a shell: { service?, command, tty } */
function execStart (v: unknown): ExecStart {
  const command = lineField(v, 'command')
  if (!Array.isArray(command) || command.length === 0) throw new ApiError('ERR_BAD_REQUEST', 'the first line must be { command: [...] }')
  const service = lineField(v, 'service')
  return { service: typeof service === 'string' ? service : undefined, command: command.map(String), tty: lineField(v, 'tty') === true }
}

/** a later line: { stdin: base64 } or { eof: true }; anything else is skipped */
function execInput (v: unknown): ExecInput | undefined {
  const stdin = lineField(v, 'stdin')
  if (typeof stdin === 'string') return { stdin }
  if (lineField(v, 'eof') === true) return { eof: true }
  return undefined
}

export function registerRoutes (server: ControlServer, node: Souk, extra: { metricsPort?: number, stop: () => void, health?: HealthInit }): void {
  function route<K extends keyof ControlRoutes> (key: K, handler: (req: RouteRequest) => Answer<K> | Promise<Answer<K>>): void {
    const { method, pattern } = routeParts(key)
    server.route(method, pattern, handler)
  }
  route('GET /v1/node', () => ({ ...node.status(), home: node.home, metricsPort: extra.metricsPort }))
  // the operator's checks: `souk node status` exits non-zero when one fails
  // made at once for a running node (its checks feed souk_health_check between requests); a
  // stand-in without metrics, as the route table's fuzzer passes, gets it on first use
  let monitor: HealthMonitor | undefined
  const health = (): HealthMonitor => { monitor ??= healthMonitor(node, extra.health); return monitor }
  if (node.metrics != null) health()
  route('GET /v1/health', async ({ signal }) => await health().check({ signal }))
  // souk.yaml again: what may change safely is applied, the rest named (souk node reload, SIGHUP)
  route('POST /v1/node/reload', async ({ body }) => await reloadNode(node, { set: Array.isArray(body?.set) ? body.set.map(String) : undefined }))
  // a consistent copy of the home's key, settings, committee file and store (souk node backup)
  route('POST /v1/node/backup', async ({ body }) => {
    if (node.validator != null) {
      throw new NodeError(NodeErrorCode.BACKUP_LIVE_VALIDATOR, 'a running validator is not backed up: a copy of its store is older than its next vote, and a validator restored from it could sign against itself. Stop it (`souk node stop`), then run `souk node backup` again')
    }
    return await backupHome({ home: node.home, live: true, peerId: node.peerId, roles: node.config.roles, committeeFile: node.config.committee.file }, typeof body?.dir === 'string' ? body.dir : '')
  })
  route('POST /v1/node/stop', () => { monitor?.stop(); setTimeout(extra.stop, 10); return { stopping: true } })

  route('POST /v1/deploy/dry-run', async ({ body, signal }) => {
    if (typeof body?.sdl !== 'string') throw new ApiError('ERR_BAD_REQUEST', 'body.sdl must be the deployment file text')
    return await need(node.tenant, 'tenant').dryRun(body.sdl, { signal, bidWindowMs: typeof body.bidWindowMs === 'number' ? body.bidWindowMs : undefined })
  })
  route('POST /v1/deploy', ({ body, signal }) => {
    const tenant = need(node.tenant, 'tenant')
    if (typeof body?.sdl !== 'string') throw new ApiError('ERR_BAD_REQUEST', 'body.sdl must be the deployment file text')
    // progress events and the outcome, as NDJSON lines, in order
    const lines = new AsyncQueue<DeployLine>()
    tenant.deploy(body.sdl, {
      signal,
      bidWindowMs: typeof body.bidWindowMs === 'number' ? body.bidWindowMs : undefined,
      ...(typeof body.failover === 'boolean' ? { failover: body.failover } : {}),
      onProgress: (e: DeployProgressEvent) => lines.push({ event: e }),
      onFailover: (e) => lines.push({ event: e })
    }).then((d) => lines.push({ result: deploymentView(d) }), (err) => lines.push({ error: { code: errorCode(err) ?? 'ERR_DEPLOY_FAILED', message: errorMessage(err), detail: errorField(err, 'detail') } }))
      .finally(() => lines.end())
    return lines
  })

  route('GET /v1/leases', () => ({
    tenant: node.tenant?.list().map(deploymentView) ?? [],
    provider: node.provider?.leases.list().map((l) => ({ lease: l.leaseId, state: l.state, tenant: l.tenantPeerId, closeReason: l.closeReason, error: l.error })) ?? []
  }))
  route('GET /v1/leases/:id', async ({ params, signal }) => leaseStatusAnswer(await need(node.tenant, 'tenant').status(params.id, { signal })))
  route('GET /v1/leases/:id/logs', ({ params, query, signal }) => need(node.tenant, 'tenant').logs(params.id, {
    follow: bool(query.get('follow')),
    tail: query.get('tail') != null ? Number(query.get('tail')) : undefined,
    service: query.get('service') ?? undefined,
    signal
  }))
  route('GET /v1/leases/:id/events', ({ params, query, signal }) => need(node.tenant, 'tenant').events(params.id, { follow: bool(query.get('follow')), signal }))
  route('POST /v1/leases/:id/update', async ({ params, body, signal }) => {
    if (typeof body?.sdl !== 'string') throw new ApiError('ERR_BAD_REQUEST', 'body.sdl must be the deployment file text')
    return deploymentView(await need(node.tenant, 'tenant').update(params.id, body.sdl, { signal }))
  })
  // a shell: NDJSON both ways. In: { service?, command, tty } then { stdin: base64 } … { eof: true }.
  // Out: { stream, data: base64 } … then { exit: code } or { error: { code, message } }.
  server.raw('POST', '/v1/leases/:id/exec', async (req, res, params) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' })
    const send = (x: ExecOutput): void => { res.write(JSON.stringify(x) + '\n') }
    const lines = ndjsonLines(req)
    try {
      const first = execStart((await lines.next()).value)
      const handle = await need(node.tenant, 'tenant').exec(params.id, first)
      void (async () => {
        for await (const l of lines) {
          const m = execInput(l)
          if (m?.stdin != null) handle.stdin.write(new Uint8Array(Buffer.from(m.stdin, 'base64')))
          else if (m?.eof === true) { handle.stdin.end(); return }
        }
        handle.stdin.end()
      })().catch(() => {})
      for await (const out of handle.output) send({ stream: out.stream, data: Buffer.from(out.data).toString('base64') })
      send({ exit: await handle.exitCode })
    } catch (err) {
      send({ error: { code: errorCode(err) ?? 'ERR_EXEC_FAILED', message: errorMessage(err) } })
    } finally {
      res.end()
    }
  })
  route('POST /v1/leases/:id/close', async ({ params, body }) => deploymentView(await need(node.tenant, 'tenant').close(params.id, typeof body?.reason === 'string' ? body.reason : undefined)))

  route('GET /v1/leases/:id/usage', ({ params }) => {
    if (node.tenant?.get(params.id) != null) return { side: 'tenant', statements: node.tenant.usage(params.id) }
    const l = node.provider?.leases.list().find((x) => x.leaseId.startsWith(params.id))
    if (l == null) throw new ApiError('ERR_NOT_FOUND', `no lease ${params.id} on this node`, 404)
    return {
      side: 'provider',
      statements: node.provider!.usage.records(l.leaseId).map((r) => {
        const b = r.statement.body
        return { sequence: b.sequence, periodStart: b.periodStart, periodEnd: b.periodEnd, amount: b.amount, total: b.total, statement: r.statement.idHex, ack: r.ack?.idHex }
      })
    }
  })

  route('GET /v1/orders', () => ({
    mine: node.tenant?.list().map((d) => ({ order: d.order, state: d.state, createdAt: d.createdAt, bidDeadline: d.bidDeadline, bids: d.bids, totals: d.totals, reason: d.reason })) ?? [],
    open: node.book.openOrders(Date.now()).map((o) => ({ order: o.idHex, tenant: Buffer.from(o.signer).toString('hex'), bidDeadline: o.body.bidDeadline, groups: o.body.groups.length }))
  }))

  // where the runtime is, so `provider status` never shows a bare "docker" for an engine that is not there
  route('GET /v1/provider', async () => ({ ...providerStatusAnswer(await need(node.provider, 'provider').status()), runtimeEndpoint: runtimeEndpoint(node.config) }))
  // any node: a provider's record as the committee's ledger has it (protocols/committee.md §6.2)
  route('GET /v1/providers/:peer/record', async ({ params, signal }) => await node.providerRecord(params.peer, { signal }))
  route('GET /v1/provider/explain/:order', async ({ params }) => {
    const d = await need(node.provider, 'provider').explain(params.order)
    if (d == null) throw new ApiError('ERR_NOT_FOUND', `this provider has no decision about order ${params.order}`, 404)
    return d
  })

  route('GET /v1/committee', () => ({
    status: node.validator?.committee.status(),
    files: node.committeeFiles().map(committeeFileToJson)
  }))
  route('GET /v1/committee/evidence', () => need(node.validator, 'validator').committee.evidence())
  route('POST /v1/committee/join', () => {
    const m = need(node.validator, 'validator').committee.requestChange(ChangeAction.JOIN)
    return { change: m.idHex, action: 'join' }
  })
  route('POST /v1/committee/leave', () => {
    const m = need(node.validator, 'validator').committee.requestChange(ChangeAction.LEAVE)
    return { change: m.idHex, action: 'leave' }
  })
  route('POST /v1/committee/approve', ({ body }) => {
    const c = need(node.validator, 'validator').committee
    const target = String(body?.target ?? '')
    const key = /^[0-9a-f]{64}$/i.test(target) ? target.toLowerCase() : (() => { const k = publicKeyOfPeerId(target); return k != null ? Buffer.from(k).toString('hex') : undefined })()
    const pending = c.status().changes.filter((x) => !x.approved && (x.id === key || Buffer.from(x.validator).toString('hex') === key))
    if (pending.length === 0) throw new ApiError('ERR_NOT_FOUND', `no pending membership change for ${target}; the peer asks first with \`souk committee join\``, 404)
    const m = c.approveChange(Buffer.from(pending[pending.length - 1].id, 'hex'))
    return { change: pending[pending.length - 1].id, approval: m.idHex }
  })
}

