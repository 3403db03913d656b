// What became of each bootstrap address: reached, or why not, in words an operator can act on.
// libp2p's own bootstrap discovery fails quietly (a wrong port or peer ID left a node with no
// peers and nothing in its log), so souk dials its bootstrap peers itself and keeps the outcome.
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export const BOOTSTRAP_DIAL_TIMEOUT_MS = 10_000

export type BootstrapReason = 'refused' | 'wrong-peer-id' | 'timeout' | 'not-libp2p' | 'unreachable' | 'unresolved' | 'other'

export interface BootstrapState {
  /** the address as configured */
  address: string
  peerId: string
  state: 'pending' | 'connected' | 'failed'
  /** set once a dial failed: a short code and the sentence for the operator */
  reason?: BootstrapReason
  message?: string
  /** the peer ID that answered when it was not the configured one */
  actualPeerId?: string
  attempts: number
  lastAttemptAt?: number
  connectedAt?: number
}

export interface BootstrapWatch {
  status: () => BootstrapState[]
  /** runs when an address changes state or fails again for another reason */
  onChange: (fn: (s: BootstrapState) => void) => () => void
  /** dials every bootstrap peer not connected now; resolves when each dial has an outcome */
  check: (opts?: { signal?: AbortSignal }) => Promise<void>
  stop: () => void
}

/** Reads a dial error as a reason and a sentence naming the address. */
export function explainDialError (cause: unknown, address: string, expected: string): { reason: BootstrapReason, message: string, actualPeerId?: string } {
  const err = cause as { message?: unknown, code?: unknown, name?: unknown } | undefined
  const text = String(err?.message ?? cause)
  const code = String(err?.code ?? '')
  const hostPort = /\/(?:ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d+)/.exec(address)
  const where = hostPort != null ? `${hostPort[1]} port ${hostPort[2]}` : address
  const mismatch = /identity key (\S+) does not match expected remote identity key/i.exec(text)
  if (mismatch != null || /unexpected peer/i.test(text)) {
    return {
      reason: 'wrong-peer-id',
      actualPeerId: mismatch?.[1],
      message: `bootstrap ${address}: the node at ${where} has peer ID ${mismatch?.[1] ?? '(another)'}, not ${expected}; copy the address again from that node's \`souk node status\``
    }
  }
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(text)) return { reason: 'refused', message: `bootstrap ${address}: connection refused: nothing listens at ${where}; check the port (souk's default ports: docs/operations.md) and that the node runs` }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /ENOTFOUND|EAI_AGAIN/.test(text)) return { reason: 'unresolved', message: `bootstrap ${address}: the host name does not resolve` }
  if (['EHOSTUNREACH', 'ENETUNREACH'].includes(code) || /EHOSTUNREACH|ENETUNREACH/.test(text)) return { reason: 'unreachable', message: `bootstrap ${address}: no route to ${where}` }
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || /timed? ?out|aborted/i.test(text)) return { reason: 'timeout', message: `bootstrap ${address}: no answer from ${where} within ${BOOTSTRAP_DIAL_TIMEOUT_MS / 1000} s; a firewall may drop the traffic, or the host is wrong` }
  if (err?.name === 'EncryptionFailedError' || /multistream|Missing newline|protocol selection|UnsupportedProtocol/i.test(text)) return { reason: 'not-libp2p', message: `bootstrap ${address}: something answers at ${where} but it is not a souk node (${text.slice(0, 120)}); check the port` }
  return { reason: 'other', message: `bootstrap ${address}: ${text.slice(0, 200)}` }
}

export function bootstrapWatch (libp2p: Libp2p, peers: Array<{ address: string, id: PeerId, ma: Multiaddr }>): BootstrapWatch {
  const states = new Map<string, BootstrapState>()
  for (const p of peers) states.set(p.address, { address: p.address, peerId: p.id.toString(), state: 'pending', attempts: 0 })
  const listeners = new Set<(s: BootstrapState) => void>()
  const emit = (s: BootstrapState): void => { for (const fn of listeners) { try { fn({ ...s }) } catch {} } }
  const onConnect = (evt: CustomEvent<PeerId>): void => {
    for (const s of states.values()) {
      if (s.peerId !== evt.detail.toString() || s.state === 'connected') continue
      s.state = 'connected'
      s.connectedAt = Date.now()
      s.reason = undefined
      s.message = undefined
      emit(s)
    }
  }
  libp2p.addEventListener('peer:connect', onConnect)
  let running: Promise<void> | undefined

  async function dialOne (p: { address: string, id: PeerId, ma: Multiaddr }, signal?: AbortSignal): Promise<void> {
    const s = states.get(p.address)!
    if (libp2p.getConnections(p.id).length > 0) { onConnect(new CustomEvent('peer:connect', { detail: p.id })); return }
    s.attempts++
    s.lastAttemptAt = Date.now()
    try {
      const timeout = AbortSignal.timeout(BOOTSTRAP_DIAL_TIMEOUT_MS)
      await libp2p.dial(p.ma, { signal: signal != null ? AbortSignal.any([signal, timeout]) : timeout })
      onConnect(new CustomEvent('peer:connect', { detail: p.id }))
    } catch (err) {
      if (signal?.aborted === true) return
      const e = explainDialError(err, p.address, s.peerId)
      const changed = s.state !== 'failed' || s.reason !== e.reason
      s.state = 'failed'
      s.reason = e.reason
      s.message = e.message
      s.actualPeerId = e.actualPeerId
      if (changed) emit(s)
    }
  }

  return {
    status: () => [...states.values()].map((s) => ({ ...s })),
    onChange: (fn) => { listeners.add(fn); return () => { listeners.delete(fn) } },
    async check (opts = {}) {
      running ??= (async () => {
        try {
          await Promise.all(peers.filter((p) => libp2p.getConnections(p.id).length === 0 || states.get(p.address)?.state !== 'connected').map(async (p) => { await dialOne(p, opts.signal) }))
        } finally { running = undefined }
      })()
      await running
    },
    stop () {
      libp2p.removeEventListener('peer:connect', onConnect)
      listeners.clear()
    }
  }
}
