// When a node can do its job. A node that has just started has no gossip peers yet: an order
// published then reaches nobody, a bid goes nowhere, a validator cannot gather a quorum. `ready()`
// waits (bounded) until what each configured role needs is there, and names what is missing
// when it gives up.
import type { PeerId } from '@libp2p/interface'
import { Topic } from '../net/index.ts'
import { peerIdOfPublicKey } from '../identity/index.ts'
import type { CommitteeFile } from '../committee/index.ts'
import type { Role } from '../config/index.ts'
import { NodeError, NodeErrorCode } from './errors.ts'

/** how long `ready()` waits by default */
export const READY_TIMEOUT_MS = 30_000
/** how often the needs are checked again; cheap (reads gossipsub's subscription table) */
const READY_POLL_MS = 100

export interface ReadyOptions {
  /** aborts the wait; the error is the signal's reason */
  signal?: AbortSignal
  /** gives up after this long with ERR_NOT_READY (default READY_TIMEOUT_MS) */
  timeoutMs?: number
}

export interface ReadinessComponents {
  roles: readonly Role[]
  /** this node's peer ID, to leave itself out of the committee count */
  peerId: string
  gossip: { subscribers: (topic: string) => PeerId[] }
  /** the committee chain; without it the committee file is not checked (a role inside a node that loaded it) */
  committeeFiles?: () => CommitteeFile[]
}

/** What the node still lacks, one plain sentence a need; empty when it can do its job. */
export function missingNeeds (c: ReadinessComponents): string[] {
  const missing: string[] = []
  const files = c.committeeFiles?.()
  if (files?.length === 0) missing.push('the committee file is not loaded')
  const subscribed = (topic: string): number => c.gossip.subscribers(topic).length
  const roles = new Set(c.roles)
  if ((roles.has('tenant') || roles.has('provider')) && subscribed(Topic.ORDERS) === 0) {
    missing.push(`no peer is subscribed to the orders topic (${Topic.ORDERS}) yet`)
  }
  if (roles.has('provider') && subscribed(Topic.BIDS) === 0) {
    missing.push(`no peer is subscribed to the bids topic (${Topic.BIDS}) yet`)
  }
  if (roles.has('validator') && files != null && files.length > 0) {
    const info = files[files.length - 1].info
    const members = new Set(info.validators.map((k) => peerIdOfPublicKey(k)))
    const self = members.has(c.peerId) ? 1 : 0
    const peers = c.gossip.subscribers(Topic.COMMITTEE).filter((p) => members.has(p.toString())).length
    // a quorum needs threshold signers, this node among them when it is a member
    const need = Math.max(0, info.threshold - self)
    if (peers < need) missing.push(`${peers} of the ${need} other committee members a quorum needs are subscribed to the committee topic (${Topic.COMMITTEE})`)
  }
  return missing
}

/** Resolves once `missingNeeds` is empty; ERR_NOT_READY naming what is missing after the timeout. */
export async function waitReady (c: ReadinessComponents, opts: ReadyOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? READY_TIMEOUT_MS
  const until = Date.now() + timeoutMs
  for (;;) {
    opts.signal?.throwIfAborted()
    const missing = missingNeeds(c)
    if (missing.length === 0) return
    if (Date.now() >= until) {
      throw new NodeError(NodeErrorCode.NOT_READY, `the node is not ready after ${timeoutMs} ms: ${missing.join('; ')}; check network.bootstrap and that those peers run`, { missing })
    }
    await sleep(Math.min(READY_POLL_MS, Math.max(0, until - Date.now())), opts.signal)
  }
}

async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { clearTimeout(t); reject(signal?.reason) }
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
