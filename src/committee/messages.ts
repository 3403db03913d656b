// Bodies of the committee's signed messages and of the batch header, with their validators.
// Registering the tags here means signMessage/openMessage know them from the first import.
import '../wire/messages/index.ts' // orders, bids and closes are registered before anything is opened
import { registerMessageType } from '../wire/envelope.ts'
import { map, field, uint, bytes, arr, str } from '../wire/schema.ts'
import { schemaError } from '../wire/errors.ts'
import { hexOf } from '../util/index.ts'
import { HASH_BYTES, MAX_ENVELOPE_BYTES } from '../wire/constants.ts'
import { ChangeAction, CommitteeTag, Domain, MAX_BATCH_ITEMS, MAX_ROUND, MAX_TALLY_BIDS, MAX_TALLY_ORDERS, MAX_VALIDATORS, VoteType } from './constants.ts'

/** A proposer's batch for (height, round). The value voted on is the header hash. */
export interface ProposalBody {
  epoch: number
  height: number
  round: number
  /** the round in which this value got 2f+1 prevotes, or -1 */
  validRound: number
  /** the header body: exact CBOR bytes of a HeaderBody (everything but the lease root) */
  header: Uint8Array
  /** Merkle root of the leases this batch decides */
  leaseRoot: Uint8Array
  /** IDs of the orders, bids, closes and membership messages, in order */
  items: Uint8Array[]
  /** 2f+1 precommit envelopes that decided the previous height (empty at height 1) */
  lastCommit: Uint8Array[]
}

export interface VoteBody {
  epoch: number
  height: number
  round: number
  type: VoteType
  /** header hash voted for; empty for nil */
  value: Uint8Array
}

export interface ChangeBody {
  /** the epoch the change is asked of */
  epoch: number
  action: ChangeAction
  /** the validator joining or leaving; must be the signer */
  validator: Uint8Array
}

export interface ApproveBody {
  epoch: number
  /** message ID of the change */
  change: Uint8Array
}

/**
 * A validator's tally of an auction close: for each order that started closing at `height`, the
 * bids this validator held before the order's bid deadline (by its own clock), the cheapest
 * fitting first, at most MAX_TALLY_BIDS. Settlement counts a bid named by f+1 of the first
 * threshold tallies ordered (protocols/committee.md §6).
 */
export interface TallyBody {
  epoch: number
  /** the batch in which the orders started closing */
  height: number
  orders: Array<{ order: Uint8Array, bids: Uint8Array[] }>
}

/** The batch header body. Its hash and the lease root together give the header hash. */
export interface HeaderBody {
  /** hash of the genesis committee file payload */
  chain: Uint8Array
  epoch: number
  height: number
  /** header hash of the batch at height - 1 (zeros at height 1) */
  parent: Uint8Array
  /** committee time, ms: the median of the lastCommit timestamps (genesis time at height 1) */
  time: number
  proposer: Uint8Array
  /** sha256 of the lastCommit message IDs, concatenated */
  lastCommit: Uint8Array
  /** sha256 of the item IDs, concatenated */
  items: Uint8Array
  itemCount: number
  leaseCount: number
  /** sha256 of the batch's other outcomes (expired orders, closes, membership) */
  outcomes: Uint8Array
  /** hash of the next epoch's committee file payload when this is the last batch of an epoch; else empty */
  next: Uint8Array
}

const int = (v: unknown, path: string, min: number, max: number): number => uint(v, path, max, min)

function hash (v: unknown, path: string): Uint8Array { return bytes(v, path, HASH_BYTES) }

export function validateProposal (v: unknown, path: string): ProposalBody {
  const o = map(v, path, ['epoch', 'height', 'round', 'validRound', 'header', 'leaseRoot', 'items', 'lastCommit'])
  const round = int(o.round, field(path, 'round'), 0, MAX_ROUND)
  const vr = o.validRound
  if (typeof vr !== 'number' || !Number.isSafeInteger(vr) || vr < -1 || vr >= round) throw schemaError(field(path, 'validRound'), 'must be -1 or a round below round')
  return {
    epoch: uint(o.epoch, field(path, 'epoch')),
    height: int(o.height, field(path, 'height'), 1, Number.MAX_SAFE_INTEGER),
    round,
    validRound: vr,
    header: bytes(o.header, field(path, 'header'), { min: 1, max: 4096 }),
    leaseRoot: hash(o.leaseRoot, field(path, 'leaseRoot')),
    items: arr(o.items, field(path, 'items'), MAX_BATCH_ITEMS, hash),
    lastCommit: arr(o.lastCommit, field(path, 'lastCommit'), MAX_VALIDATORS, (x, p) => bytes(x, p, { min: 1, max: 1024 }))
  }
}

export function validateVote (v: unknown, path: string): VoteBody {
  const o = map(v, path, ['epoch', 'height', 'round', 'type', 'value'])
  const type = str(o.type, field(path, 'type'), 16)
  if (type !== VoteType.PREVOTE && type !== VoteType.PRECOMMIT) throw schemaError(field(path, 'type'), 'must be "prevote" or "precommit"')
  const value = bytes(o.value, field(path, 'value'), { min: 0, max: HASH_BYTES })
  if (value.length !== 0 && value.length !== HASH_BYTES) throw schemaError(field(path, 'value'), `must be empty (nil) or ${HASH_BYTES} bytes`)
  return {
    epoch: uint(o.epoch, field(path, 'epoch')),
    height: int(o.height, field(path, 'height'), 1, Number.MAX_SAFE_INTEGER),
    round: int(o.round, field(path, 'round'), 0, MAX_ROUND),
    type,
    value
  }
}

export function validateChange (v: unknown, path: string): ChangeBody {
  const o = map(v, path, ['epoch', 'action', 'validator'])
  const action = str(o.action, field(path, 'action'), 16)
  if (action !== ChangeAction.JOIN && action !== ChangeAction.LEAVE) throw schemaError(field(path, 'action'), 'must be "join" or "leave"')
  return { epoch: uint(o.epoch, field(path, 'epoch')), action, validator: bytes(o.validator, field(path, 'validator'), 32) }
}

export function validateApprove (v: unknown, path: string): ApproveBody {
  const o = map(v, path, ['epoch', 'change'])
  return { epoch: uint(o.epoch, field(path, 'epoch')), change: hash(o.change, field(path, 'change')) }
}

export function validateTally (v: unknown, path: string): TallyBody {
  const o = map(v, path, ['epoch', 'height', 'orders'])
  const seen = new Set<string>()
  return {
    epoch: uint(o.epoch, field(path, 'epoch')),
    height: int(o.height, field(path, 'height'), 1, Number.MAX_SAFE_INTEGER),
    orders: arr(o.orders, field(path, 'orders'), MAX_TALLY_ORDERS, (x, p) => {
      const e = map(x, p, ['order', 'bids'])
      const order = hash(e.order, field(p, 'order'))
      const k = hexOf(order)
      if (seen.has(k)) throw schemaError(field(p, 'order'), 'appears twice')
      seen.add(k)
      const ids = new Set<string>()
      const bids = arr(e.bids, field(p, 'bids'), MAX_TALLY_BIDS, (y, q) => {
        const b = hash(y, q)
        const bk = hexOf(b)
        if (ids.has(bk)) throw schemaError(q, 'appears twice')
        ids.add(bk)
        return b
      })
      return { order, bids }
    })
  }
}

const HEADER_FIELDS = ['t', 'v', 'chain', 'epoch', 'height', 'parent', 'time', 'proposer', 'lastCommit', 'items', 'itemCount', 'leaseCount', 'outcomes', 'next'] as const

export function validateHeader (v: unknown, path: string): HeaderBody {
  const o = map(v, path, HEADER_FIELDS)
  if (o.t !== Domain.HEADER) throw schemaError(field(path, 't'), `must be "${Domain.HEADER}"`)
  if (o.v !== 1) throw schemaError(field(path, 'v'), 'must be 1')
  const next = bytes(o.next, field(path, 'next'), { min: 0, max: HASH_BYTES })
  if (next.length !== 0 && next.length !== HASH_BYTES) throw schemaError(field(path, 'next'), `must be empty or ${HASH_BYTES} bytes`)
  return {
    chain: hash(o.chain, field(path, 'chain')),
    epoch: uint(o.epoch, field(path, 'epoch')),
    height: int(o.height, field(path, 'height'), 1, Number.MAX_SAFE_INTEGER),
    parent: hash(o.parent, field(path, 'parent')),
    time: uint(o.time, field(path, 'time')),
    proposer: bytes(o.proposer, field(path, 'proposer'), 32),
    lastCommit: hash(o.lastCommit, field(path, 'lastCommit')),
    items: hash(o.items, field(path, 'items')),
    itemCount: uint(o.itemCount, field(path, 'itemCount'), MAX_BATCH_ITEMS),
    leaseCount: uint(o.leaseCount, field(path, 'leaseCount'), 1_000_000),
    outcomes: hash(o.outcomes, field(path, 'outcomes')),
    next
  }
}

/** the header body as the map that gets encoded (field order fixed) */
export function headerRecord (h: HeaderBody): Record<string, unknown> {
  return {
    t: Domain.HEADER,
    v: 1,
    chain: h.chain,
    epoch: h.epoch,
    height: h.height,
    parent: h.parent,
    time: h.time,
    proposer: h.proposer,
    lastCommit: h.lastCommit,
    items: h.items,
    itemCount: h.itemCount,
    leaseCount: h.leaseCount,
    outcomes: h.outcomes,
    next: h.next
  }
}

registerMessageType(CommitteeTag.PROPOSAL, validateProposal)
registerMessageType(CommitteeTag.VOTE, validateVote)
registerMessageType(CommitteeTag.CHANGE, validateChange)
registerMessageType(CommitteeTag.APPROVE, validateApprove)
registerMessageType(CommitteeTag.TALLY, validateTally)

/** bytes a proposal may spend on items after the rest of its envelope */
export const PROPOSAL_ITEM_BUDGET = MAX_ENVELOPE_BYTES - 1024
