// The length-prefixed decoder under noise and other libp2p streams: frames split anywhere still
// come out whole, and an empty buffer no longer reaches the length decoder (which could only
// throw, building a stack trace on every read).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { applyLengthPrefixRule } from '../../src/net/length-prefix.ts'

applyLengthPrefixRule()

function uint16Decoder (): { decoder: LengthPrefixedDecoder, emptyCalls: () => number } {
  let empty = 0
  const lengthDecoder = (data: any): number => {
    if (data.byteLength === 0) empty++
    if (data.byteLength < 2) throw new RangeError('Could not decode int16BE')
    return data instanceof Uint8Array ? (data[0] << 8) | data[1] : data.getUint16(0)
  }
  const decoder = new LengthPrefixedDecoder({ lengthDecoder, encodingLength: () => 2 })
  return { decoder, emptyCalls: () => empty }
}

const text = (xs: Iterable<any>): string[] => [...xs].map((b) => Buffer.from(b.subarray()).toString())

test('frames split across reads, a length prefix cut in two included, come out whole', () => {
  const { decoder } = uint16Decoder()
  assert.equal(text(decoder.decode(Uint8Array.from([0, 3, 97, 98, 99, 0]))), ['abc'])
  assert.equal(text(decoder.decode(Uint8Array.from([2, 120]))), [])
  assert.equal(text(decoder.decode(Uint8Array.from([121, 0, 1, 122]))), ['xy', 'z'])
})

test('a buffer emptied by the last frame is not handed to the length decoder', () => {
  const { decoder, emptyCalls } = uint16Decoder()
  for (let i = 0; i < 1000; i++) assert.equal(text(decoder.decode(Uint8Array.from([0, 1, 65]))), ['A'])
  assert.is(emptyCalls(), 0)
})

test.run()
