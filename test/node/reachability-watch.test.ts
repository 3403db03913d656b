// The operator hears how the node can be reached and when that changes, and a provider that
// only its own network can reach gets one warning naming the settings that fix it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { reachabilityWatch } from '../../src/node/reachability-watch.ts'

const ID = '12D3KooWCukt5asApoabqT3Ms1gQJYTv9SiXqkck8zDUBqNNnHSR'
const PRIVATE = `/ip4/192.168.1.4/tcp/4001/p2p/${ID}`
const PUBLIC = `/ip4/11.0.0.1/tcp/4001/p2p/${ID}`
const RELAYED = `/ip4/11.0.0.3/tcp/4001/p2p/${ID}/p2p-circuit/p2p/${ID}`

function harness (mustBeReachable: boolean, addrs: string[]) {
  const logs: Array<{ level: string, obj: any, msg: string }> = []
  let fire: () => void = () => {}
  const watch = reachabilityWatch({ mustBeReachable, graceMs: 50 })({
    addresses: () => addrs,
    onAddressChange: (fn) => { fire = fn; return () => { fire = () => {} } },
    logger: {
      info: (obj: any, msg?: string) => { logs.push({ level: 'info', obj, msg: msg ?? '' }) },
      warn: (obj: any, msg?: string) => { logs.push({ level: 'warn', obj, msg: msg ?? '' }) }
    } as any
  })
  return { watch, logs, change: (next: string[]) => { addrs.splice(0, addrs.length, ...next); fire() } }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

test('a change of reachability is logged once, with the addresses', () => {
  const h = harness(true, [PRIVATE])
  h.watch.start()
  assert.is(h.watch.current, 'private')
  h.change([PRIVATE, PUBLIC])
  h.change([PRIVATE, PUBLIC])
  assert.is(h.watch.current, 'public')
  assert.is(h.logs.length, 1)
  assert.equal(h.logs[0].obj.reachability, 'public')
  assert.match(h.logs[0].msg, 'reachable from the internet')
  h.watch.stop()
})

test('a provider reachable on its own network only is warned once, naming the fix', async () => {
  const h = harness(true, [PRIVATE])
  h.watch.start()
  await sleep(120)
  const warns = h.logs.filter((l) => l.level === 'warn')
  assert.is(warns.length, 1)
  assert.match(warns[0].msg, 'network.announce')
  assert.match(warns[0].msg, 'network.relayReserveOn')
  h.watch.stop()
})

test('no warning once a relay slot is held, nor for a role nobody dials', async () => {
  const relayed = harness(true, [PRIVATE])
  relayed.watch.start()
  relayed.change([PRIVATE, RELAYED])
  await sleep(120)
  assert.is(relayed.logs.filter((l) => l.level === 'warn').length, 0)
  assert.is(relayed.watch.current, 'relayed')
  relayed.watch.stop()

  const tenant = harness(false, [PRIVATE])
  tenant.watch.start()
  await sleep(120)
  assert.is(tenant.logs.length, 0)
  tenant.watch.stop()
})

test.run()
