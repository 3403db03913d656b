// A provider's record as this node reports it: from its own ledger on a validator; otherwise over
// the record protocol (net/protocols/record.ts) from the validators of the latest committee file,
// believed only when f + 1 of them give the same figures, so no single validator can make a
// provider look better or worse than the ledger says (protocols/record.md).
import { peerIdFromString } from '@libp2p/peer-id'
import { askRecord, RECORD_FIGURES } from '../net/index.ts'
import type { RecordAnswer, SoukNode } from '../net/index.ts'
import { toHex } from '../wire/index.ts'
import type { CommitteeFile, ProviderRecord } from '../committee/index.ts'
import { peerIdOfPublicKey, publicKeyOfPeerId } from '../identity/index.ts'
import { NodeError, NodeErrorCode } from './errors.ts'
import type { ProviderRecordView } from '../api/index.ts'

export type { ProviderRecordView }

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
    const k = RECORD_FIGURES.map((f) => a.record[f]).join(',')
    groups.set(k, [...(groups.get(k) ?? []), a])
  }
  const best = [...groups.values()].sort((a, b) => b.length - a.length)[0] ?? []
  if (best.length < needed) {
    throw new NodeError(NodeErrorCode.NO_RECORD_QUORUM, `${got.length} of ${info.validators.length} validators answered and at most ${best.length} gave the same figures; ${needed} must agree (they may be between batches: try again)`)
  }
  return { ...base, record: best[0].record, height: Math.max(...best.map((a) => a.height)), source: 'validators', agreeing: best.length, asked: info.validators.length, answered: got.length, needed }
}
