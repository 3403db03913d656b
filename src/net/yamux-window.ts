// js-yamux answers every data frame it receives with a window update frame. Go and Rust yamux
// send one only once half of the receive window has been consumed. On gossip, where each message
// is one small data frame, the per-frame update doubled the frames a connection carries, each its
// own noise frame and socket write. This applies the half-window rule to established streams;
// opening (SYN/ACK) and resuming after a pause keep the library's own behaviour.
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream'

interface WindowFields { state: StreamState, recvWindow: number, recvWindowCapacity: number }

let applied = false

/** Idempotent; affects every yamux stream of the process. */
export function applyYamuxWindowRule (): void {
  if (applied) return
  applied = true
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: WindowFields) => void }
  const original = proto.sendWindowUpdate
  proto.sendWindowUpdate = function (this: WindowFields): void {
    if (this.state === StreamState.Established && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return
    original.call(this)
  }
}

