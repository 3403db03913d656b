// @libp2p/utils' LengthPrefixedDecoder learns that its buffer holds no further frame by catching
// the RangeError its length decoder throws. It asks once more after every frame it yields, so on
// a noise connection every read of the socket ends in a new RangeError, stack trace included:
// about 3 % of a busy gossip node's CPU. An empty buffer now gets one shared error, which costs no
// stack trace; a partly received length still goes to the library's decoder.
import { LengthPrefixedDecoder } from '@libp2p/utils'

type LengthDecoder = (data: { byteLength: number }) => number

const NEED_MORE = new RangeError('no length prefix in an empty buffer')
const wrapped = new WeakSet<object>()
let applied = false

/** Idempotent; affects every LengthPrefixedDecoder of the process. */
export function applyLengthPrefixRule (): void {
  if (applied) return
  applied = true
  const proto = LengthPrefixedDecoder.prototype as unknown as { decode: (this: { lengthDecoder: LengthDecoder }, buf: unknown) => Generator<unknown> }
  const original = proto.decode
  proto.decode = function (buf) {
    if (!wrapped.has(this)) {
      wrapped.add(this)
      const decodeLength = this.lengthDecoder
      this.lengthDecoder = (data) => {
        if (data.byteLength === 0) throw NEED_MORE
        return decodeLength(data)
      }
    }
    return original.call(this, buf)
  }
}
