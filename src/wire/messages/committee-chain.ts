import { map, field, bytes } from '../schema.ts'

/** The committee chain (JSON array of committee files, genesis first); see protocols/wire.md §4.10. */
export interface CommitteeChainBody {
  chain: Uint8Array
}

export function validateCommitteeChain (v: unknown, path: string): CommitteeChainBody {
  const o = map(v, path, ['chain'])
  return { chain: bytes(o.chain, field(path, 'chain'), { min: 2, max: 60 * 1024 }) }
}
