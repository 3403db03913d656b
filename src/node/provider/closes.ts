// The fate of each lease held: a Close, however it comes (gossip, the lease book, a peer's answer
// after a restart or a reconnect). A provider that was down (or cut off) when a Close went out
// never got it by gossip; the validators keep every Close the committee ordered, and any node
// the ones it heard. It asks them on start, on each (re)connection, and once a minute one validator.
import type { PeerId } from '@libp2p/interface'
import { MessageTag, toHex } from '../../wire/index.ts'
import type { SignedMessage, CloseBody } from '../../wire/index.ts'
import { Topic, MAX_SYNC_LEASES } from '../../net/index.ts'
import type { SoukNode } from '../../net/index.ts'
import type { ProviderLeases } from '../../market/index.ts'
import { peerIdOfPublicKey } from '../../identity/index.ts'
import { errorMessage } from '../../util/index.ts'
import type { LeaseBook, LeaseRecord } from '../lease-book.ts'
import type { Logger } from '../logger.ts'
import { CLOSE_SYNC_CONNECT_INTERVAL_MS, CLOSE_SYNC_MIN_INTERVAL_MS, CLOSE_SYNC_SWEEP_MS } from './constants.ts'

export interface CloseSyncComponents {
  net: SoukNode
  book: LeaseBook
  leases: ProviderLeases
  logger: Logger
  /** this provider's key, hex */
  me: string
  /** the validators of the latest epoch (keys) */
  committeeKeys?: () => Uint8Array[]
  /** closes a lease, its close tracked until it is stored */
  close: (leaseId: string, reason: string) => void
  /** ends with the role */
  signal: AbortSignal
}

/** starts following Closes; returns what undoes it */
export function followCloses (c: CloseSyncComponents): Array<() => void> {
  const { net, leases, logger } = c

  /** taken when the lease's tenant signed it, or this provider; its signature was checked where it came in */
  function onClose (m: SignedMessage<CloseBody>): void {
    const leaseId = toHex(m.body.lease)
    const l = leases.get(leaseId)
    if (l == null || l.state === 'closed') return
    const signer = toHex(m.signer)
    const who = signer === toHex(l.order.signer) ? 'tenant' : signer === c.me ? 'provider' : undefined
    if (who == null) return
    c.close(leaseId, m.body.reason === '' ? `closed by the ${who}` : `closed by the ${who}: ${m.body.reason}`)
  }

  const askedAt = new Map<string, number>()
  const members = (): Set<string> => new Set((c.committeeKeys?.() ?? []).map((k) => peerIdOfPublicKey(k)))
  async function learnCloses (peer: PeerId, minIntervalMs: number): Promise<void> {
    const key = peer.toString()
    const now = Date.now()
    if (now - (askedAt.get(key) ?? 0) < minIntervalMs) return
    const open = leases.list().filter((l) => l.state !== 'closed')
    if (open.length === 0) return
    askedAt.set(key, now)
    if (askedAt.size > 1024) {
      const oldest = askedAt.keys().next()
      if (oldest.done !== true) askedAt.delete(oldest.value)
    }
    for (let i = 0; i < open.length && !c.signal.aborted; i += MAX_SYNC_LEASES) {
      try {
        const r = await net.syncCloses(peer, open.slice(i, i + MAX_SYNC_LEASES).map((l) => l.order.id), { signal: c.signal })
        if (r.closes.length > 0) logger.info({ peer: key, closes: r.closes.length }, 'learned of closes missed while away')
        for (const m of r.closes) onClose(m)
      } catch (err) {
        logger.debug({ peer: key, err: errorMessage(err) }, 'asking a peer for closes failed')
        return
      }
    }
  }
  /** a validator, or the tenant of a lease held here */
  function worthAsking (peer: string): boolean {
    if (members().has(peer)) return true
    return leases.list().some((l) => l.state !== 'closed' && l.tenantPeerId === peer)
  }
  const onConnect = (evt: CustomEvent<PeerId>): void => {
    if (worthAsking(evt.detail.toString())) void learnCloses(evt.detail, CLOSE_SYNC_CONNECT_INTERVAL_MS)
  }
  let sweepTurn = 0
  function sweep (): void {
    const connected = net.libp2p.getPeers().filter((p) => members().has(p.toString()))
    if (connected.length === 0) return
    void learnCloses(connected[sweepTurn++ % connected.length], CLOSE_SYNC_MIN_INTERVAL_MS)
  }

  const undo: Array<() => void> = [
    net.gossip.onMessage(Topic.LEASES, (m) => { if (m.tag === MessageTag.CLOSE) onClose(m as SignedMessage<CloseBody>) }),
    c.book.on('closed', (rec: LeaseRecord) => {
      if (rec.provider !== c.me) return
      const by = rec.closedBy ?? 'tenant'
      c.close(rec.orderId, rec.closeReason == null || rec.closeReason === '' ? `closed by the ${by}` : `closed by the ${by}: ${rec.closeReason}`)
    })
  ]
  net.libp2p.addEventListener('peer:connect', onConnect)
  undo.push(() => { net.libp2p.removeEventListener('peer:connect', onConnect) })
  for (const peer of net.libp2p.getPeers()) if (worthAsking(peer.toString())) void learnCloses(peer, 0)
  const timer = setInterval(sweep, CLOSE_SYNC_SWEEP_MS)
  timer.unref()
  undo.push(() => { clearInterval(timer) })
  return undo
}
