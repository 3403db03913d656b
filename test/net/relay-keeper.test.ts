// The relay keeper against a transport manager and a connection manager that fail as real ones
// do: a relay that cannot be dialled, a reservation that is refused, a slot that is lost later.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { setTimeout as sleep } from 'node:timers/promises'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { defaultLogger } from '@libp2p/logger'
import { relayKeeper } from '../../src/net/relay-keeper.ts'
import type { RelayAttempt } from '../../src/net/relay-keeper.ts'

const RELAY = '/ip4/10.77.0.1/tcp/4001/p2p/12D3KooWNoZM2uKreryNq755VdCQCa4vS4GXqqr29Q8FfgPFKesY'

/** a libp2p double: dials fail while `dialFails` > 0, reservations while `refusals` > 0 */
function world (o: { dialFails?: number, refusals?: number, hangs?: number } = {}) {
  const w = { dialFails: o.dialFails ?? 0, refusals: o.refusals ?? 0, hangs: o.hangs ?? 0, addrs: [] as Multiaddr[], dials: 0, listens: 0 }
  const components = {
    logger: defaultLogger(),
    connectionManager: {
      openConnection: async (_addr: Multiaddr) => {
        w.dials++
        if (w.dialFails > 0) { w.dialFails--; throw new Error('dial timed out') }
        return {}
      }
    },
    transportManager: {
      getAddrs: () => w.addrs,
      listen: async (addrs: Multiaddr[]) => {
        w.listens++
        // a reservation that is never answered (a connection to a relay that died under it)
        if (w.hangs > 0) { w.hangs--; return await new Promise<void>(() => {}) }
        // NO_FATAL: a failed listen is logged by libp2p, not thrown
        if (w.refusals > 0) { w.refusals--; return }
        w.addrs = [multiaddr('/ip4/10.78.0.2/tcp/4001'), multiaddr(`${addrs[0].toString().replace('/p2p-circuit', '')}/p2p-circuit`)]
      }
    }
  }
  return { w, components }
}

async function until (what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

test('a relay that cannot be reached at first and then refuses once: the keeper tries again, backing off, until it holds a slot', async () => {
  const { w, components } = world({ dialFails: 2, refusals: 1 })
  const seen: RelayAttempt[] = []
  const k = relayKeeper({ relays: [RELAY], checkMs: 5, backoffMs: 20, maxBackoffMs: 100, onAttempt: (e) => seen.push(e) })(components)
  await k.start(); await k.afterStart?.()
  await until('a slot', () => k.status()[0].reserved)
  assert.equal(seen.map((e) => e.ok), [false, false, false, true])
  assert.match(seen[0].error ?? '', /dial timed out/)
  assert.match(seen[2].error ?? '', /refused or did not answer/)
  assert.is(w.listens, 2)
  const n = seen.length
  await sleep(100)
  assert.is(seen.length, n, 'no attempt while the slot is held')
  await k.stop()
})

test('a slot lost later (the relay restarted) is reserved again', async () => {
  const { w, components } = world()
  const k = relayKeeper({ relays: [RELAY], checkMs: 5, backoffMs: 10 })(components)
  await k.start(); await k.afterStart?.()
  await until('a slot', () => k.status()[0].reserved)
  w.addrs = [multiaddr('/ip4/10.78.0.2/tcp/4001')]
  await until('the slot again', () => k.status()[0].reserved)
  assert.is(k.status()[0].attempts, 2)
  await k.stop()
})

test('a relay that is reached but keeps refusing is asked less and less often, past the cap for an unreachable one', async () => {
  const { w, components } = world({ refusals: 1000 })
  const k = relayKeeper({ relays: [RELAY], checkMs: 2, backoffMs: 5, maxBackoffMs: 5, maxRefusedBackoffMs: 60_000 })(components)
  await k.start(); await k.afterStart?.()
  await until('four refusals', () => w.listens >= 4)
  await until('the fourth wait', () => !(k.status()[0].retryInMs === 0))
  // waits 5, 10, 20, then 40 ms: above the 5 ms cap that holds while a relay cannot be dialled
  assert.ok(k.status()[0].retryInMs > 5, `next try in ${k.status()[0].retryInMs} ms`)
  await k.stop()
  const { w: w2, components: c2 } = world({ dialFails: 1000 })
  const k2 = relayKeeper({ relays: [RELAY], checkMs: 2, backoffMs: 5, maxBackoffMs: 5, maxRefusedBackoffMs: 60_000 })(c2)
  await k2.start(); await k2.afterStart?.()
  await until('four failed dials', () => w2.dials >= 4)
  assert.ok(k2.status()[0].retryInMs <= 5, `next try in ${k2.status()[0].retryInMs} ms`)
  await k2.stop()
})

test('a relay back after a long outage that refuses once while it starts is asked again soon, not after the outage\'s backoff', async () => {
  // eight failed dials back off to 5 · 2^7 ms; the refusal that follows starts its own schedule at 5 ms
  const { w, components } = world({ dialFails: 8, refusals: 1 })
  const k = relayKeeper({ relays: [RELAY], checkMs: 2, backoffMs: 5, maxBackoffMs: 10_000, maxRefusedBackoffMs: 60_000 })(components)
  await k.start(); await k.afterStart?.()
  await until('the refusal', () => w.listens >= 1, 5000)
  assert.ok(k.status()[0].retryInMs <= 5, `next try in ${k.status()[0].retryInMs} ms`)
  await until('a slot', () => k.status()[0].reserved, 500)
  await k.stop()
})

test('a reservation that never answers does not stop the keeper: it tries again and holds a slot', async () => {
  const { w, components } = world({ hangs: 1 })
  const seen: RelayAttempt[] = []
  const k = relayKeeper({ relays: [RELAY], checkMs: 2, backoffMs: 5, reserveTimeoutMs: 50, onAttempt: (e) => seen.push(e) })(components)
  await k.start(); await k.afterStart?.()
  await until('a slot', () => k.status()[0].reserved, 2000)
  assert.is(w.listens, 2)
  assert.match(seen[0].error ?? '', /did not answer the reservation in 50 ms/)
  await k.stop()
})

test('stopped: no more attempts', async () => {
  const { w, components } = world({ dialFails: 1000 })
  const k = relayKeeper({ relays: [RELAY], checkMs: 5, backoffMs: 5, maxBackoffMs: 5 })(components)
  await k.start(); await k.afterStart?.()
  await until('two dials', () => w.dials >= 2)
  await k.stop()
  const dials = w.dials
  await sleep(50)
  assert.ok(w.dials <= dials + 1, `${w.dials - dials} dials after stop`)
})

test('a relay address without a peer ID is refused with a message naming it', () => {
  const { components } = world()
  assert.throws(() => relayKeeper({ relays: ['/ip4/10.77.0.1/tcp/4001'] })(components), /relay address \/ip4\/10\.77\.0\.1\/tcp\/4001 names no peer/)
})

test.run()
