// Binary Merkle tree over the leases of a batch. Leaves and inner nodes carry distinct prefixes
// (RFC 6962), the tree is padded to a power of two with 32 zero bytes, and the header hash is one
// more step: sha256(0x02 || leaseRoot || bodyHash). A lease proof is the sibling path followed by
// the header body hash, so a holder needs nothing but the certificate to reach the header hash.
import { EMPTY32, sha256, concat } from './bytes.ts'
import { HEADER_NODE, MERKLE_LEAF, MERKLE_NODE } from './constants.ts'
import { utf8 } from './bytes.ts'

const LEAF = Uint8Array.of(MERKLE_LEAF)
const NODE = Uint8Array.of(MERKLE_NODE)
const HEAD = Uint8Array.of(HEADER_NODE)
const LEASE_DOMAIN = utf8('souk/lease/1')

export interface LeaseLeafFields { order: Uint8Array, bid: Uint8Array, tenant: Uint8Array, provider: Uint8Array }

/** leaf = sha256(0x00 || "souk/lease/1" || order || bid || tenant || provider) */
export function leaseLeaf (l: LeaseLeafFields): Uint8Array {
  return sha256(LEAF, LEASE_DOMAIN, l.order, l.bid, l.tenant, l.provider)
}

export function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE, left, right)
}

export function headerHash (leaseRoot: Uint8Array, bodyHash: Uint8Array): Uint8Array {
  return sha256(HEAD, leaseRoot, bodyHash)
}

function levels (leaves: readonly Uint8Array[]): Uint8Array[][] {
  let size = 1
  while (size < leaves.length) size *= 2
  const first: Uint8Array[] = []
  for (let i = 0; i < size; i++) first.push(leaves[i] ?? EMPTY32)
  const out = [first]
  let cur = first
  while (cur.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < cur.length; i += 2) next.push(nodeHash(cur[i], cur[i + 1]))
    out.push(next)
    cur = next
  }
  return out
}

/** root of the leaves; the empty tree's root is 32 zero bytes */
export function merkleRoot (leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return EMPTY32
  const lv = levels(leaves)
  return lv[lv.length - 1][0]
}

/** sibling path of every leaf (computed together: one pass for a batch of hundreds) */
export function merkleProofs (leaves: readonly Uint8Array[]): Uint8Array[][] {
  if (leaves.length === 0) return []
  const lv = levels(leaves)
  return leaves.map((_, index) => {
    const path: Uint8Array[] = []
    let i = index
    for (let d = 0; d < lv.length - 1; d++) {
      path.push(lv[d][i ^ 1])
      i >>= 1
    }
    return path
  })
}

/** the root a leaf and its sibling path lead to; undefined when the index lies outside the tree */
export function rootFromPath (leaf: Uint8Array, index: number, path: readonly Uint8Array[]): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** path.length) return undefined
  let h = leaf
  let i = index
  for (const sib of path) {
    h = (i & 1) === 0 ? nodeHash(h, sib) : nodeHash(sib, h)
    i = Math.floor(i / 2)
  }
  return h
}

export { concat }
