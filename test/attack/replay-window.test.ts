// The poisoned replay window. Messages may be dated up to 30 s ahead of a receiver's clock. A
// window that forgets in arrival order and raises its floor to what it forgot lets such a message,
// once forgotten, push the floor past the present: every honest message is then "stale". And one
// window shared by every topic lets a flood on one topic do that to all of them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import * as wire from '../../src/wire/index.ts'
import { ReplayWindow, signMessage, MessageTag } from '../../src/wire/index.ts'
import { gossipValidator, PenaltyBook, Topic, Verdict } from '../../src/net/index.ts'
import { generateIdentity } from '../../src/identity/index.ts'
import { signOrder } from '../net/helpers.ts'

const id = (): string => randomBytes(16).toString('hex')

test('messages dated ahead never push the floor past the present', () => {
  const now = 1_800_000_000_000
  const w = new ReplayWindow({ capacity: 300 })
  // a busy window: 300 honest messages from a minute ago
  for (let i = 0; i < 300; i++) w.accept(id(), now - 60_000 + i, now)
  // the attacker's fifty, dated 29.9 s ahead (inside the allowed skew)
  for (let i = 0; i < 50; i++) w.accept(id(), now + 29_900, now)
  // more honest traffic from a minute ago turns the window over
  for (let i = 0; i < 300; i++) w.accept(id(), now - 60_000 + 300 + i, now)
  // an honest message made now is still fresh, and so is one a few seconds on its way
  assert.not.throws(() => w.check(id(), now, now + 1_000), 'an honest message made now was refused')
  assert.not.throws(() => w.check(id(), now - 5_000, now + 1_000), 'an honest message 5 s old was refused')
  assert.ok((w as any).floor == null || (w as any).floor <= now - 29_000, `the floor passed the present: ${(w as any).floor - now} ms ahead`)
  assert.ok(w.size <= 300)
})

test('a flood on one topic does not make other topics\' messages stale', () => {
  const now = Date.now()
  const penalties = new PenaltyBook()
  // small windows, so that the flood fills one quickly; the honest order's must not notice
  const Windows = (wire as any).ReplayWindows
  const replay = Windows != null ? new Windows({ defaultCapacity: 300 }) : new ReplayWindow({ capacity: 300 })
  const v = gossipValidator({})({ replay, penalties })
  const flooder = Array.from({ length: 8 }, () => generateIdentity())
  let accepted = 0
  for (let i = 0; i < 800; i++) {
    const vote = signMessage(flooder[i % 8], 'souk/committee/vote', { epoch: 0, height: 1 + i, round: 0, type: 'prevote', value: new Uint8Array(32) }, { createdAt: now + 29_900 })
    if (v.validate(Topic.COMMITTEE, `attacker-${i % 40}`, vote.bytes, now).verdict === Verdict.ACCEPT) accepted++
  }
  assert.ok(accepted > 0, 'the flood reached the validator')
  // an honest order, a moment later
  const honest = signOrder(generateIdentity(), { createdAt: now + 100 })
  const r = v.validate(Topic.ORDERS, 'honest-peer', honest.bytes, now + 200)
  assert.is(r.verdict, Verdict.ACCEPT, `the honest order was refused: ${r.error?.message ?? ''} (${accepted} flood messages accepted)`)
})

// the committee's message tags must be registered for the validator to know them
await import('../../src/committee/messages.ts')
void MessageTag

test.run()
