// The votes of one round (consensus.ts, VoteSet): a validator's junk cannot hide its real vote.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { VoteSet, VOTE_ROOM } from '../../src/committee/consensus.ts'
import { CommitteeTag } from '../../src/committee/index.ts'
import type { VoteBody } from '../../src/committee/index.ts'
import { signMessage } from '../../src/wire/envelope.ts'
import type { SignedMessage } from '../../src/wire/envelope.ts'
import { key } from './harness.ts'

const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const vote = (i: number, value: number): SignedMessage<VoteBody> =>
  signMessage<VoteBody>(key(1, i), CommitteeTag.VOTE, { epoch: 0, height: 5, round: 0, type: 'prevote', value: new Uint8Array(32).fill(value) })

test('junk fills a validator\'s room, yet its vote for a value f+1 others voted for still counts (no stall)', () => {
  const set = new VoteSet(1) // n = 4, f = 1
  const real = hx(new Uint8Array(32).fill(9))
  // the Byzantine validator 3 first sends three junk values to this node
  for (let j = 1; j <= VOTE_ROOM; j++) set.add(3, vote(3, j))
  // its real vote now finds no room while the value has too little support
  set.add(0, vote(0, 9))
  assert.ok(set.add(3, vote(3, 9)) !== 'dup')
  assert.is(set.count(real), 1, 'one other voter is not enough: it could be a Byzantine one')
  // once f+1 = 2 others voted for it, the value is real and the vote counts: the polka (3) is seen
  set.add(1, vote(1, 9))
  set.add(3, vote(3, 9))
  assert.is(set.count(real), 3)
  // more junk still finds no room
  set.add(3, vote(3, 100))
  assert.is(set.count(hx(new Uint8Array(32).fill(100))), 0)
})

test.run()
