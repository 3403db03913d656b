// The record protocol, `/souk/record/1.0.0`: any node asks a validator for a provider's record
// (protocols/committee.md §6.2) as of its last final batch. One request frame, one answer frame.
// A validator answers from its ledger; a node that is not one believes figures only when f + 1
// validators of the latest committee file give the same ones, so no single validator can make a
// provider look better or worse than the ledger says (protocols/record.md).
import type { PeerId, Stream, Connection } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { checkFrame, FrameStream, frameOf } from '../net/index.ts'
import type { SoukNode } from '../net/index.ts'
import { schema, HASH_BYTES, toHex } from '../wire/index.ts'
import type { CommitteeFile, ProviderRecord } from '../committee/index.ts'
import { peerIdOfPublicKey, publicKeyOfPeerId } from '../identity/index.ts'
import { NodeError, NodeErrorCode } from './errors.ts'

export const RECORD_PROTOCOL = '/souk/record/1.0.0'
const REQUEST = 'souk/record-request'
const ANSWER = 'souk/record-answer'
const MAX_FRAME = 1024
const FIGURES = ['won', 'served', 'lost', 'failed', 'uncounted'] as const

export interface RecordAnswer { height: number, record: ProviderRecord }

/** what a node reports of a provider's record */
export interface ProviderRecordView {
  provider: string
  providerKey: string
  record: ProviderRecord
  /** height of the last final batch the figures include (the highest among the agreeing validators) */
  height: number
  /** `ledger`: this node is a validator; `validators`: `agreeing` validators gave these figures */
  source: 'ledger' | 'validators'
  agreeing: number
  /** validators asked, and how many answered */
  asked: number
  answered: number
  /** the f + 1 that had to agree */
  needed: number
}

export function decodeRecordRequest (v: unknown): { provider: Uint8Array } {
  const o = frameOf(v, REQUEST, ['provider'])
  return checkFrame(() => ({ provider: schema.bytes(o.provider, 'frame.provider', HASH_BYTES) }))
}

export function decodeRecordAnswer (v: unknown): RecordAnswer {
  const o = frameOf(v, ANSWER, ['height', ...FIGURES])
  return checkFrame(() => {
    const record = Object.fromEntries(FIGURES.map((f) => [f, schema.uint(o[f], `frame.${f}`)])) as unknown as ProviderRecord
    return { height: schema.uint(o.height, 'frame.height'), record }
  })
}

/** serves records from this validator's ledger */
export async function handleRecord (net: SoukNode, lookup: (providerHex: string) => RecordAnswer): Promise<() => Promise<void>> {
  const serve = (stream: Stream, _connection: Connection): void => {
    void (async () => {
      const fs = new FrameStream(stream, { maxFrameBytes: MAX_FRAME, maxFrames: 1, signal: AbortSignal.timeout(10_000) })
      try {
        const req = decodeRecordRequest(await fs.readRequired('request'))
        const a = lookup(toHex(req.provider))
        await fs.write({ t: ANSWER, v: 1, height: a.height, ...a.record })
        await fs.close()
      } catch (err: any) {
        fs.abort(err)
      }
    })()
  }
  await net.libp2p.handle(RECORD_PROTOCOL, serve, { maxInboundStreams: 32 })
  return async () => { await net.libp2p.unhandle(RECORD_PROTOCOL) }
}

export async function askRecord (net: SoukNode, validator: PeerId, provider: Uint8Array, signal?: AbortSignal): Promise<RecordAnswer> {
  const s = AbortSignal.any([AbortSignal.timeout(5_000), ...(signal != null ? [signal] : [])])
  const stream = await net.libp2p.dialProtocol(validator, RECORD_PROTOCOL, { signal: s })
  const fs = new FrameStream(stream, { maxFrameBytes: MAX_FRAME, maxFrames: 1, signal: s })
  try {
    await fs.write({ t: REQUEST, v: 1, provider })
    const out = decodeRecordAnswer(await fs.readRequired('answer'))
    await fs.close()
    return out
  } catch (err) {
    fs.abort(err as Error)
    throw err
  }
}

/** a provider named by peer ID or by its key in hex */
export function providerKeyOf (peer: string): Uint8Array {
  if (/^[0-9a-f]{64}$/i.test(peer)) return new Uint8Array(Buffer.from(peer, 'hex'))
  const k = publicKeyOfPeerId(peer)
  if (k == null) throw new NodeError(NodeErrorCode.BAD_PEER, `${peer} is neither a peer ID nor a key of 64 hex digits`)
  return k
}

/**
 * A provider's record: from the ledger on a validator; otherwise from the validators of the latest
 * committee file, believed when f + 1 of them give the same figures.
 */
export async function providerRecordOf (net: SoukNode, files: CommitteeFile[], peer: string, local?: (providerHex: string) => RecordAnswer, signal?: AbortSignal): Promise<ProviderRecordView> {
  const key = providerKeyOf(peer)
  const base = { provider: peerIdOfPublicKey(key), providerKey: toHex(key) }
  if (local != null) {
    const a = local(toHex(key))
    return { ...base, ...a, source: 'ledger', agreeing: 1, asked: 0, answered: 0, needed: 1 }
  }
  const info = files.at(-1)?.info
  if (info == null) throw new NodeError(NodeErrorCode.NO_COMMITTEE_FILE, 'no committee file')
  const needed = info.validators.length - info.threshold + 1
  const answers = await Promise.all(info.validators.map(async (v) => await askRecord(net, peerIdFromString(peerIdOfPublicKey(v)), key, signal).catch(() => undefined)))
  const got = answers.filter((a): a is RecordAnswer => a != null)
  const groups = new Map<string, RecordAnswer[]>()
  for (const a of got) {
    const k = FIGURES.map((f) => a.record[f]).join(',')
    groups.set(k, [...(groups.get(k) ?? []), a])
  }
  const best = [...groups.values()].sort((a, b) => b.length - a.length)[0] ?? []
  if (best.length < needed) {
    throw new NodeError(NodeErrorCode.NO_RECORD_QUORUM, `${got.length} of ${info.validators.length} validators answered and at most ${best.length} gave the same figures; ${needed} must agree (they may be between batches: try again)`)
  }
  return { ...base, record: best[0].record, height: Math.max(...best.map((a) => a.height)), source: 'validators', agreeing: best.length, asked: info.validators.length, answered: got.length, needed }
}
