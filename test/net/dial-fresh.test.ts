// A dial to a peer ID that fails at the addresses the peer store holds asks the network once for
// the peer's current addresses, and dials again only when they are new.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'
import { dialProtocolFresh } from '../../src/net/dial-fresh.ts'

const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
const PRIVATE = multiaddr('/ip4/10.78.0.2/tcp/4001')
const RELAYED = multiaddr(`/ip4/10.77.0.1/tcp/4001/p2p/${peer.toString()}/p2p-circuit`)

/** a libp2p double: dials succeed once the peer store holds `works`; findPeer answers `network` */
function node (o: { stored: Multiaddr[], network?: Multiaddr[], works: Multiaddr, connected?: boolean }) {
  const w = { stored: [...o.stored], dials: 0, finds: 0, findOptions: undefined as any }
  const libp2p = {
    dialProtocol: async () => {
      w.dials++
      if (!w.stored.some((a) => a.equals(o.works))) throw new Error('connect ENETUNREACH 10.78.0.2:4001')
      return { protocol: '/x' }
    },
    getConnections: () => o.connected === true ? [{}] : [],
    peerStore: { get: async () => ({ addresses: w.stored.map((multiaddr) => ({ multiaddr })) }) },
    peerRouting: {
      findPeer: async (_id: unknown, opts: any) => {
        w.finds++
        w.findOptions = opts
        if (o.network == null) throw new Error('not found')
        // libp2p merges what it found into the peer store
        for (const a of o.network) if (!w.stored.some((x) => x.equals(a))) w.stored.push(a)
        return { id: peer, multiaddrs: o.network }
      }
    }
  } as unknown as Libp2p
  return { w, libp2p }
}

test('stored addresses stale, the network knows the relayed one: asked past the cache, dialled again, connected', async () => {
  const { w, libp2p } = node({ stored: [PRIVATE], network: [PRIVATE, RELAYED], works: RELAYED })
  await dialProtocolFresh(libp2p, peer, '/x')
  assert.is(w.dials, 2)
  assert.is(w.finds, 1)
  assert.is(w.findOptions.useCache, false)
})

test('the network knows nothing new: the first error, no second dial', async () => {
  const { w, libp2p } = node({ stored: [PRIVATE], network: [PRIVATE], works: RELAYED })
  await dialProtocolFresh(libp2p, peer, '/x').then(() => assert.unreachable(), (err: Error) => assert.match(err.message, /ENETUNREACH/))
  assert.is(w.dials, 1)
  const lost = node({ stored: [PRIVATE], works: RELAYED })
  await dialProtocolFresh(lost.libp2p, peer, '/x').then(() => assert.unreachable(), (err: Error) => assert.match(err.message, /ENETUNREACH/))
  assert.is(lost.w.dials, 1)
})

test('no lookup when the caller gave up, when a connection exists, when an address was dialled, or when nothing was stored', async () => {
  const ac = new AbortController()
  const a = node({ stored: [PRIVATE], network: [RELAYED], works: RELAYED })
  ac.abort()
  await dialProtocolFresh(a.libp2p, peer, '/x', { signal: ac.signal }).catch(() => {})
  const b = node({ stored: [PRIVATE], network: [RELAYED], works: RELAYED, connected: true })
  await dialProtocolFresh(b.libp2p, peer, '/x').catch(() => {})
  const c = node({ stored: [PRIVATE], network: [RELAYED], works: RELAYED })
  await dialProtocolFresh(c.libp2p, PRIVATE, '/x').catch(() => {})
  // nothing stored: libp2p's own dial asked the network already
  const d = node({ stored: [], network: [RELAYED], works: RELAYED })
  await dialProtocolFresh(d.libp2p, peer, '/x').catch(() => {})
  assert.equal([a.w.finds, b.w.finds, c.w.finds, d.w.finds], [0, 0, 0, 0])
})

test('a peer that is gone: repeated failed dials ask the network once in the window, not once each', async () => {
  const { w, libp2p } = node({ stored: [PRIVATE], network: [PRIVATE], works: RELAYED })
  for (let i = 0; i < 20; i++) await dialProtocolFresh(libp2p, peer, '/x').catch(() => {})
  assert.is(w.dials, 20)
  assert.is(w.finds, 1)
})

test.run()
