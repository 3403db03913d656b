// What opening an order and a bid costs a validator apart from the signature check: decoding,
// schema checks and the message ID (`openMessage(…, { trusted: true })`), in microseconds and in
// bytes allocated per message. The bytes are counted in a child process whose young generation is
// large enough that nothing is collected while it counts (heap used after N opens, minus before).
//
//   node bench/decode.ts [--seconds 1]
//
// Last line: `decode order_bytes=… order_alloc_bytes=… order_us=… bid_bytes=… bid_alloc_bytes=… bid_us=…`
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { signMessage, openMessage, MessageTag } from '../src/wire/index.ts'
import type { OrderBody, BidBody } from '../src/wire/index.ts'
import { identityFromSeed } from '../src/identity/identity.ts'
import { benchOrder, benchBid } from './committee-items.ts'

const COUNT_OPS = 2000
const at = process.argv.indexOf('--seconds')
const seconds = at >= 0 ? Number(process.argv[at + 1]) || 1 : 1

const tenant = identityFromSeed(new Uint8Array(32).fill(2))
const provider = identityFromSeed(new Uint8Array(32).fill(3))
// the order and bid bench/committee.ts feeds its validators
const now = Date.now()
const order = signMessage<OrderBody>(tenant, MessageTag.ORDER, benchOrder(0, now + 300), { createdAt: now })
const bid = signMessage<BidBody>(provider, MessageTag.BID, benchBid(order.id, 0, 0, now + 60_000), { createdAt: now + 20 })

const open = (bytes: Uint8Array): void => { openMessage(bytes, { trusted: true, now }) }

if (process.argv.includes('--count-bytes')) {
  // the child: bytes per open, with no collection in between
  const gc = (globalThis as { gc?: () => void }).gc as () => void
  const bytesPer = (bytes: Uint8Array): number => {
    for (let i = 0; i < 20_000; i++) open(bytes) // optimized code allocates less than the interpreter
    gc()
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < COUNT_OPS; i++) open(bytes)
    return Math.round((process.memoryUsage().heapUsed - before) / COUNT_OPS)
  }
  process.stdout.write(JSON.stringify({ order: bytesPer(order.bytes), bid: bytesPer(bid.bytes) }))
} else {
  const usPer = (bytes: Uint8Array): number => {
    for (let i = 0; i < 20_000; i++) open(bytes)
    let n = 0
    const start = performance.now()
    while (performance.now() - start < seconds * 1000) { for (let k = 0; k < 100; k++) open(bytes); n += 100 }
    return (performance.now() - start) * 1000 / n
  }
  const orderUs = usPer(order.bytes)
  const bidUs = usPer(bid.bytes)
  const child = spawnSync(process.execPath, ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=256', fileURLToPath(import.meta.url), '--count-bytes'], { encoding: 'utf8' })
  if (child.status !== 0) { process.stderr.write(`bench:decode: the counting process failed\n${child.stderr}`); process.exit(1) }
  const alloc = JSON.parse(child.stdout) as { order: number, bid: number }
  console.log(`decode order_bytes=${order.bytes.length} order_alloc_bytes=${alloc.order} order_us=${orderUs.toFixed(2)} bid_bytes=${bid.bytes.length} bid_alloc_bytes=${alloc.bid} bid_us=${bidUs.toFixed(2)}`)
}
