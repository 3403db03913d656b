// mDNS discovery between two real nodes. Multicast must not leave the machine, so the nodes run
// in a network namespace of their own whose only interface is loopback (with multicast on).
// Needs root and iproute2; without them the suite says so and skips.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('./fixtures/mdns-pair.ts', import.meta.url))

function canMakeNamespaces (): boolean {
  if (process.getuid?.() !== 0) return false
  return spawnSync('ip', ['netns', 'list']).status === 0
}

if (!canMakeNamespaces()) {
  process.stdout.write('skipped test/net/mdns.test.ts: needs root and iproute2 to make a network namespace\n  Total:     1\n  Passed:    0\n  Skipped:   1\n')
} else {
  const ns = `souk-mdns-${randomBytes(3).toString('hex')}`
  const ip = (...args: string[]): void => { execFileSync('ip', ['netns', 'exec', ns, 'ip', ...args]) }
  const pair = (mode: 'on' | 'off'): { discoveredMs: number, dialed: boolean } => {
    const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, fixture, mode], { encoding: 'utf8', timeout: 30_000 })
    return JSON.parse(out.trim().split('\n').at(-1) ?? '{}')
  }

  test.before(() => {
    execFileSync('ip', ['netns', 'add', ns])
    ip('link', 'set', 'lo', 'up')
    ip('link', 'set', 'lo', 'multicast', 'on')
    ip('route', 'add', '224.0.0.0/4', 'dev', 'lo')
  })
  test.after(() => { spawnSync('ip', ['netns', 'del', ns]) })

  test('with mdns on, a node finds another on the same network and dials the address it learned', () => {
    const r = pair('on')
    assert.ok(r.discoveredMs >= 0, 'discovered within 5 s')
    assert.is(r.dialed, true)
  })

  test('with mdns off (the default), nothing is discovered that way', () => {
    assert.equal(pair('off'), { discoveredMs: -1, dialed: false })
  })

  test.run()
}
