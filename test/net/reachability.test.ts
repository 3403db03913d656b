// What a node says about how it can be reached, from the addresses it announces.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { reachabilityOf, unreachableHint } from '../../src/net/index.ts'

const ID = '12D3KooWCukt5asApoabqT3Ms1gQJYTv9SiXqkck8zDUBqNNnHSR'

test('a public address, IPv4, IPv6 or DNS, makes a node reachable from the internet', () => {
  assert.is(reachabilityOf([`/ip4/127.0.0.1/tcp/1/p2p/${ID}`, `/ip4/11.0.0.1/tcp/4002/p2p/${ID}`]), 'public')
  assert.is(reachabilityOf(['/ip6/2a00:1450::1/tcp/1']), 'public')
  assert.is(reachabilityOf(['/dns4/provider.example/tcp/4001']), 'public')
})

test('private addresses with a relay slot: reachable through the relay', () => {
  assert.is(reachabilityOf([`/ip4/10.0.0.2/tcp/4/p2p/${ID}`, `/ip4/11.0.0.3/tcp/4001/p2p/${ID}/p2p-circuit/p2p/${ID}`]), 'relayed')
})

test('private, loopback and documentation addresses only, or none', () => {
  assert.is(reachabilityOf(['/ip4/192.168.1.4/tcp/1', '/ip4/127.0.0.1/tcp/2', '/ip6/2001:db8::1/tcp/1']), 'private')
  assert.is(reachabilityOf([]), 'unreachable')
  assert.is(reachabilityOf(['not an address']), 'unreachable')
})

test('a dial failure gets a hint only when the addresses explain it', () => {
  assert.match(unreachableHint([`/ip4/10.0.0.2/tcp/4/p2p/${ID}`]) ?? '', 'behind NAT without a relay slot')
  assert.match(unreachableHint([`/ip4/10.0.0.2/tcp/4/p2p/${ID}`]) ?? '', 'network.relayReserveOn')
  assert.is(unreachableHint([]), 'this node knows no address for it')
  assert.is(unreachableHint([`/ip4/11.0.0.1/tcp/4/p2p/${ID}`]), undefined)
  assert.is(unreachableHint([`/ip4/11.0.0.3/tcp/4001/p2p/${ID}/p2p-circuit/p2p/${ID}`]), undefined)
})

test.run()
