// The same API from TypeScript: progress events and error codes narrow in a switch, node events
// carry typed details. Compiled by the test suite with `strict` and `skipLibCheck: false`.
import { createNode, DeployError, NodeError, ConfigError } from 'souk'
import type { Souk, SoukConfigInput, DeployProgressEvent, Deployment, ServiceView, DeploymentState, LeaseRecord, LeaseLogLine, DeployErrorCode, NodeErrorCode, SoukNode, CommitteeFile, Logger, OrderOutcome } from 'souk'

export function describe (e: DeployProgressEvent): string {
  switch (e.type) {
    case 'deploy:validated': return `valid: ${e.detail.totals}`
    case 'deploy:queued': return `waiting: ${e.detail.open} of ${e.detail.max} orders open, ${e.detail.queued} in line`
    case 'deploy:order-published': return `order ${e.detail.order}`
    case 'deploy:bid': return `bid ${e.detail.bids} from ${e.detail.provider}`
    case 'deploy:lease-final': return `lease at height ${e.detail.height}`
    case 'deploy:manifest-accepted': return `accepted by ${e.detail.provider}`
    case 'deploy:services-running': return e.detail.services.map((s: ServiceView) => s.urls.join(' ')).join(', ')
    case 'deploy:closing': return `aborted: closing the lease with ${e.detail.provider}`
    case 'deploy:kept': return `aborted: ${e.detail.order} goes on (${e.detail.state})`
  }
}

export function advice (code: DeployErrorCode | NodeErrorCode): string {
  switch (code) {
    case 'ERR_NO_LEASE': return 'no provider bid: lower the resources or raise the price'
    case 'ERR_DEPLOY_TIMEOUT': return 'the committee or the provider was too slow'
    case 'ERR_HOME_IN_USE': return 'another node holds this home'
    case 'ERR_NOT_READY': return 'no peer reached: check network.bootstrap'
    default: return code
  }
}

export async function run (home: string, sdl: string, config: SoukConfigInput): Promise<Deployment | undefined> {
  let node: Souk
  try {
    node = await createNode({ home, config })
  } catch (err) {
    if (err instanceof ConfigError) { for (const p of err.problems) console.error(p.path, p.message); return undefined }
    if (err instanceof NodeError) { console.error(advice(err.code)); return undefined }
    throw err
  }
  node.addEventListener('lease:certified', (evt) => { const lease: LeaseRecord = evt.detail; console.log(lease.orderId) })
  const net: SoukNode = node.net
  const files: CommitteeFile[] = node.committeeFiles()
  const logger: Logger = node.logger
  logger.info({ peers: net.libp2p.getPeers().length, epochs: files.length }, 'starting')
  try {
    await node.ready({ timeoutMs: 30_000 })
    const tenant = node.tenant
    if (tenant == null) return undefined
    const d = await tenant.deploy(sdl, { onProgress: (e) => { console.log(describe(e)) } })
    const state: DeploymentState = d.state
    const outcome: OrderOutcome = await node.book.outcome(d.order)
    if (outcome.kind === 'lease') console.log(state, outcome.lease.provider)
    for await (const line of tenant.logs(d.order, { tail: 5 })) { const l: LeaseLogLine = line; console.log(l.service, l.line) }
    return d
  } catch (err) {
    if (err instanceof DeployError) console.error(advice(err.code), err.providerCode ?? '', err.detail?.declines?.length ?? 0)
    throw err
  } finally {
    await node.stop()
  }
}
