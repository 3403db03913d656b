// The committee's own transport: a direct stream protocol between validators of the current
// epoch (they are each other's direct peers), carrying the committee's frames as length-prefixed
// bytes. Each frame goes to the committee node with the sender's key as noise authenticated it;
// the node decides what a sender may ask (members everything, others only to hand in items).
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { toHex } from '../../wire/index.ts'
import { publicKeyOfPeerId, peerIdOfPublicKey } from '../../identity/index.ts'
import { NetError, NetErrorCode } from '../errors.ts'
import type { FrameStream } from '../frames.ts'
import type { NetMetrics } from '../metrics.ts'
import { defineProtocol } from './define-protocol.ts'
import type { ProtocolLogger } from './define-protocol.ts'

export const COMMITTEE_PROTOCOL = '/souk/committee/1.0.0'
const MAX_COMMITTEE_FRAME = 4 * 1024 * 1024
/** bytes queued per peer while its stream is (re)opening; older frames are dropped first */
export const MAX_QUEUE_BYTES = 8 * 1024 * 1024
/** frames queued per peer */
const MAX_QUEUE_FRAMES = 4096
/** inbound streams from peers outside the committee file at a time (candidates catching up, item senders) */
export const MAX_GUESTS = 8
/** peers outside the committee this node keeps an outbound queue for (answers to candidates) */
const MAX_GUEST_QUEUES = 16
/** a dial or a lookup of a member's addresses gives up after this long */
const DIAL_TIMEOUT_MS = 5_000
/** a write that has not drained after this long means a stuck stream: it is aborted and reopened */
const WRITE_TIMEOUT_MS = 10_000
const RETRY_MS = 500

export interface CommitteeTransport {
  broadcast: (data: Uint8Array) => void
  send: (peer: string, data: Uint8Array) => void
  /** starts accepting streams; frames go to `deliver(fromPeerId, bytes, senderKey)` */
  start: (deliver: (from: string, data: Uint8Array, key?: Uint8Array) => void) => Promise<void>
  stop: () => Promise<void>
  /** what is queued (for status and tests) */
  queued: () => { peers: number, frames: number, bytes: number }
}

export const committeeDefinition = defineProtocol({
  name: 'committee',
  ids: [COMMITTEE_PROTOCOL],
  maxInboundStreams: 64,
  runOnLimitedConnection: false,
  maxFrameBytes: MAX_COMMITTEE_FRAME,
  // a stream lasts the epoch: no deadline; a stuck write is caught by WRITE_TIMEOUT_MS
  dialTimeoutMs: DIAL_TIMEOUT_MS
})

/** What the transport needs of the node. */
export interface CommitteeTransportComponents {
  net: { libp2p: Libp2p, peerId: PeerId, metrics?: NetMetrics }
  logger?: ProtocolLogger
}

interface Outbound { queue: Uint8Array[], bytes: number, writing: boolean, stream?: FrameStream, retry?: NodeJS.Timeout }

export function committeeTransport (init: { members: () => Uint8Array[] }): (components: CommitteeTransportComponents) => CommitteeTransport {
  return ({ net, logger }) => {
    const self = net.peerId.toString()
    const out = new Map<string, Outbound>()
    let running = false
    let deliver: (from: string, data: Uint8Array, key?: Uint8Array) => void = () => {}

    // the member list changes once an epoch: its keys and peer IDs are derived once per list,
    // not on every frame
    let view: { of: Uint8Array[], keys: Set<string>, peers: string[], peerSet: Set<string> } | undefined
    const members = (): NonNullable<typeof view> => {
      const of = init.members()
      if (view?.of !== of) {
        const peers = of.map((k) => peerIdFromPublicKeyHex(k)).filter((p): p is string => p != null && p !== self)
        view = { of, keys: new Set(of.map((m) => toHex(m))), peers, peerSet: new Set(peers) }
      }
      return view
    }
    const isMember = (peer: PeerId | string): boolean => {
      const key = publicKeyOfPeerId(typeof peer === 'string' ? peer : peer.toString())
      return key != null && members().keys.has(toHex(key))
    }

    const drop = (peer: string, o: Outbound): void => {
      o.stream?.abort(new Error('dropped'))
      if (o.retry != null) clearTimeout(o.retry)
      out.delete(peer)
    }

    /**
     * Opens a stream to a peer. A peer this node has no address for is looked up with a deadline
     * of its own before dialling its addresses: a dial by bare peer ID would start the lookup
     * inside libp2p's dial queue, where a later dial to the same peer without a deadline (the
     * bootstrap dial does that) joins it and keeps it, and with it every dial to that peer,
     * pending for good while the routing table is empty.
     */
    async function open (peer: string): Promise<FrameStream> {
      const id = peerIdFromString(peer)
      const signal = AbortSignal.timeout(DIAL_TIMEOUT_MS)
      let target: PeerId | Multiaddr[] = id
      if (net.libp2p.getConnections(id).length === 0) {
        let known = 0
        try { known = (await net.libp2p.peerStore.get(id)).addresses.length } catch {}
        if (known === 0) {
          const info = await net.libp2p.peerRouting.findPeer(id, { signal })
          if (info.multiaddrs.length === 0) throw new Error(`no address known for ${peer}`)
          target = info.multiaddrs.map((a) => a.encapsulate(`/p2p/${peer}`))
        }
      }
      const { frames } = await committeeDefinition.dial(net.libp2p, target, { signal })
      // the deadline was the dial's: an open stream carries frames until it breaks
      frames.setSignal(undefined)
      return frames
    }

    async function write (fs: FrameStream, data: Uint8Array): Promise<void> {
      let timer: NodeJS.Timeout | undefined
      try {
        await Promise.race([
          fs.writeBytes(data),
          new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('write timed out')) }, WRITE_TIMEOUT_MS) })
        ])
      } finally {
        if (timer != null) clearTimeout(timer)
      }
    }

    async function pump (peer: string, o: Outbound): Promise<void> {
      if (o.writing || o.retry != null) return
      o.writing = true
      try {
        while (running && o.queue.length > 0) {
          if (o.stream == null) {
            try {
              o.stream = await open(peer)
            } catch {
              // the peer cannot be reached now: what was queued for it is dropped (the committee
              // re-sends what matters on its timeouts and heartbeats), and the entry with it
              drop(peer, o)
              return
            }
          }
          const data = o.queue.shift()!
          o.bytes -= data.length
          try {
            await write(o.stream, data)
          } catch {
            o.stream.abort(new Error('write failed'))
            o.stream = undefined
            o.queue.unshift(data)
            o.bytes += data.length
            o.retry = setTimeout(() => { o.retry = undefined; void pump(peer, o) }, RETRY_MS)
            o.retry.unref()
            return
          }
        }
      } finally {
        o.writing = false
      }
    }

    function enqueue (peer: string, data: Uint8Array, member: boolean): void {
      if (!running || peer === self || data.length > MAX_COMMITTEE_FRAME) return
      let o = out.get(peer)
      if (o == null) {
        if (!member && [...out.keys()].filter((p) => !isMember(p)).length >= MAX_GUEST_QUEUES) return
        o = { queue: [], bytes: 0, writing: false }
        out.set(peer, o)
      }
      o.queue.push(data)
      o.bytes += data.length
      while (o.queue.length > 1 && (o.bytes > MAX_QUEUE_BYTES || o.queue.length > MAX_QUEUE_FRAMES)) o.bytes -= o.queue.shift()!.length
      void pump(peer, o)
    }

    let guests = 0
    const service = committeeDefinition.serve({ libp2p: net.libp2p, metrics: net.metrics, logger }, async ({ frames: fs, remotePeer: from }) => {
      // a node about to join is not in the file yet but must catch up, and anyone may hand in
      // items: guests are heard, a bounded number at a time; the node decides what they may ask
      const member = isMember(from)
      if (!member && guests >= MAX_GUESTS) throw new NetError(NetErrorCode.REFUSED, 'too many non-member committee streams')
      if (!member) guests++
      const key = publicKeyOfPeerId(from.toString()) ?? undefined
      try {
        for (;;) {
          const bytes = await fs.readBytes()
          if (bytes === undefined) break
          try { deliver(from.toString(), bytes, key) } catch {}
        }
        // a broken stream is reopened by the sender
        return undefined
      } finally {
        if (!member) guests--
        fs.abort(new Error('closed'))
      }
    })

    return {
      broadcast (data) {
        const { peers, peerSet } = members()
        // queues of peers that left the committee go
        for (const [p, o] of out) if (!peerSet.has(p) && o.queue.length === 0 && !o.writing) drop(p, o)
        for (const p of peers) enqueue(p, data, true)
      },
      send (peer, data) { enqueue(peer, data, isMember(peer)) },
      async start (d) {
        deliver = d
        running = true
        await service.start()
      },
      async stop () {
        running = false
        await service.stop()
        for (const [p, o] of out) drop(p, o)
        out.clear()
      },
      queued () {
        let frames = 0; let bytes = 0
        for (const o of out.values()) { frames += o.queue.length; bytes += o.bytes }
        return { peers: out.size, frames, bytes }
      }
    }
  }
}

function peerIdFromPublicKeyHex (key: Uint8Array): string | undefined {
  try {
    return peerIdOfPublicKey(key)
  } catch {
    return undefined
  }
}
