// A committee validator inside a node: orders, bids and closes from gossip go into the
// committee's pool; committee frames travel on the committee's own stream protocol; certified
// leases and expiries are published on the leases topic for tenants and providers.
import { committeeNode } from '../committee/index.ts'
import type { CommitteeNode, CommitteeFile } from '../committee/index.ts'
import { signMessage, MessageTag, toHex } from '../wire/index.ts'
import type { LeaseCertificateBody, OrderExpiredBody } from '../wire/index.ts'
import { Topic } from '../net/index.ts'
import type { SoukNode } from '../net/index.ts'
import type { Store } from '../store/index.ts'
import type { Identity } from '../identity/index.ts'
import { committeeTransport } from '../net/index.ts'
import type { CommitteeTransport } from '../net/index.ts'
import type { LeaseBook } from './lease-book.ts'
import type { Logger } from './logger.ts'
import { handleRecord } from '../net/index.ts'
import { errorMessage } from '../util/index.ts'

export interface ValidatorRole {
  readonly committee: CommitteeNode
  start: () => Promise<void>
  stop: () => Promise<void>
}

export interface ValidatorRoleInit {
  committeeFiles: CommitteeFile[]
  batchIntervalMs?: number
  minBatchIntervalMs?: number
  idleBatchIntervalMs?: number
}

export function validatorRole (init: ValidatorRoleInit): (components: { identity: Identity, net: SoukNode, store: Store, book: LeaseBook, logger: Logger }) => ValidatorRole {
  return ({ identity, net, store, book, logger }) => {
    let files = init.committeeFiles
    const transport: CommitteeTransport = committeeTransport({ members: () => files.at(-1)?.info.validators ?? [] })({ net })
    // orders, bids and closes reach every validator by gossip, verified there once; relaying them
    // over the committee protocol too would get a second check whenever the relayed copy came
    // first (a proposal naming an item this node lacks still fetches it)
    const committee = committeeNode({ committee: files, batchIntervalMs: init.batchIntervalMs, minBatchIntervalMs: init.minBatchIntervalMs, idleBatchIntervalMs: init.idleBatchIntervalMs, relay: false })({
      signer: identity,
      store,
      clock: {
        now: () => Date.now(),
        setTimer: (ms, fn) => { const t = setTimeout(fn, ms); return () => clearTimeout(t) }
      },
      transport,
      logger: logger.child({ scope: 'committee' })
    })
    const unsubs: Array<() => void> = []
    let unhandleRecord: (() => Promise<void>) | undefined

    const publish = (topic: string, tag: string, body: unknown): void => {
      const msg = signMessage(identity, tag, body)
      book.record(msg)
      net.gossip.publish(topic, msg).catch((err: unknown) => logger.debug({ err: errorMessage(err) }, 'publish failed'))
    }

    return {
      committee,
      async start () {
        await transport.start((from, data, key) => committee.handleMessage(from, data, key))
        unhandleRecord = await handleRecord(net, (p) => committee.providerRecord(p))
        // a bid that can no longer count is dropped before gossip checks its signature
        unsubs.push(net.gossip.addPrecheck(Topic.BIDS, (m) => committee.shed(m)))
        for (const t of [Topic.ORDERS, Topic.BIDS, Topic.LEASES]) {
          unsubs.push(net.gossip.onMessage(t, (m) => {
            if (m.tag === MessageTag.ORDER || m.tag === MessageTag.BID || m.tag === MessageTag.CLOSE) committee.submit(m, { verified: true })
          }))
        }
        // a node catching up replays old batches: only the validators of a height announce its outcomes
        const memberAt = (height: number): boolean => committee.committeeAt(height).index.has(toHex(identity.publicKey))
        unsubs.push(committee.on('lease', (e) => { if (memberAt(e.certificate.height)) publish(Topic.LEASES, MessageTag.LEASE_CERTIFICATE, e.certificate satisfies LeaseCertificateBody) }))
        unsubs.push(committee.on('expired', (e) => { if (memberAt(e.height)) publish(Topic.LEASES, MessageTag.ORDER_EXPIRED, { order: e.order, code: e.code, reason: e.reason, height: e.height } satisfies OrderExpiredBody) }))
        unsubs.push(committee.on('epoch', (f) => { files = [...files, f] }))
        committee.start()
      },
      async stop () {
        for (const u of unsubs.splice(0)) u()
        await unhandleRecord?.().catch(() => {})
        committee.stop()
        await transport.stop()
      }
    }
  }
}
