// The committee's own transport: a direct stream protocol between validators of the current
// epoch (they are each other's direct peers), carrying the committee's frames as length-prefixed
// bytes. Only peers whose key is in the committee may speak on it; the rest are refused.
import type { Stream, Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { FrameStream } from '../net/index.ts'
import type { SoukNode } from '../net/index.ts'
import { toHex } from '../wire/index.ts'
import { publicKeyOfPeerId, peerIdOfPublicKey } from '../identity/index.ts'

export const COMMITTEE_PROTOCOL = '/souk/committee/1.0.0'
const MAX_COMMITTEE_FRAME = 4 * 1024 * 1024
/** frames queued per peer while its stream is (re)opening; older ones are dropped */
const MAX_QUEUE = 4096
/** inbound streams from peers outside the committee file (joining validators) */
const MAX_GUESTS = 16

export interface CommitteeTransport {
  broadcast: (data: Uint8Array) => void
  send: (peer: string, data: Uint8Array) => void
  /** starts accepting streams; frames go to `deliver(fromPeerId, bytes)` */
  start: (deliver: (from: string, data: Uint8Array) => void) => Promise<void>
  stop: () => Promise<void>
}

interface Outbound { queue: Uint8Array[], writing: boolean, stream?: FrameStream, backoffUntil: number }

export function committeeTransport (init: { members: () => Uint8Array[] }): (components: { net: SoukNode }) => CommitteeTransport {
  return ({ net }) => {
    const self = net.peerId.toString()
    const out = new Map<string, Outbound>()
    let running = false
    let deliver: (from: string, data: Uint8Array) => void = () => {}

    const isMember = (peer: PeerId | string): boolean => {
      const key = publicKeyOfPeerId(typeof peer === 'string' ? peer : peer.toString())
      if (key == null) return false
      const hex = toHex(key)
      return init.members().some((m) => toHex(m) === hex)
    }

    const memberPeers = (): string[] => init.members()
      .map((k) => peerIdFromPublicKeyHex(k))
      .filter((p): p is string => p != null && p !== self)

    async function pump (peer: string, o: Outbound): Promise<void> {
      if (o.writing) return
      o.writing = true
      try {
        while (running && o.queue.length > 0) {
          if (o.stream == null) {
            if (Date.now() < o.backoffUntil) return
            try {
              const stream = await net.libp2p.dialProtocol(peerIdFromString(peer), COMMITTEE_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
              o.stream = new FrameStream(stream, { maxFrameBytes: MAX_COMMITTEE_FRAME })
            } catch {
              o.backoffUntil = Date.now() + 500
              setTimeout(() => { void pump(peer, o) }, 550).unref()
              return
            }
          }
          const data = o.queue.shift()!
          try {
            await o.stream.writeBytes(data)
          } catch {
            o.stream = undefined
            o.queue.unshift(data)
            o.backoffUntil = Date.now() + 200
            setTimeout(() => { void pump(peer, o) }, 250).unref()
            return
          }
        }
      } finally {
        o.writing = false
      }
    }

    function enqueue (peer: string, data: Uint8Array): void {
      if (!running || peer === self) return
      let o = out.get(peer)
      if (o == null) { o = { queue: [], writing: false, backoffUntil: 0 }; out.set(peer, o) }
      o.queue.push(data)
      if (o.queue.length > MAX_QUEUE) o.queue.splice(0, o.queue.length - MAX_QUEUE)
      void pump(peer, o)
    }

    let guests = 0
    async function onStream (stream: Stream, connection: Connection): Promise<void> {
      const from = connection.remotePeer
      // a node about to join is not in the file yet but must catch up; frames prove themselves
      // (signed items) or are requests, so guests are heard, a bounded number at a time
      const member = isMember(from)
      if (!member && guests >= MAX_GUESTS) { stream.abort(new Error('too many non-member committee streams')); return }
      if (!member) guests++
      const fs = new FrameStream(stream, { maxFrameBytes: MAX_COMMITTEE_FRAME })
      try {
        for (;;) {
          const bytes = await fs.readBytes()
          if (bytes === undefined) break
          try { deliver(from.toString(), bytes) } catch {}
        }
      } catch {
        // a broken stream is reopened by the sender
      } finally {
        if (!member) guests--
        fs.abort(new Error('closed'))
      }
    }

    return {
      broadcast (data) { for (const p of memberPeers()) enqueue(p, data) },
      send (peer, data) { enqueue(peer, data) },
      async start (d) {
        deliver = d
        running = true
        await net.libp2p.handle(COMMITTEE_PROTOCOL, (stream, connection) => { void onStream(stream, connection) }, { maxInboundStreams: 64, runOnLimitedConnection: false })
      },
      async stop () {
        running = false
        await net.libp2p.unhandle(COMMITTEE_PROTOCOL)
        for (const o of out.values()) o.stream?.abort(new Error('stopping'))
        out.clear()
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

