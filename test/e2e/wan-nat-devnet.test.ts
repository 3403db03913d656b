// A provider behind NAT on the emulated wide-area network: every node in a network namespace of
// its own, the provider's behind a router that masquerades it, so nothing can dial it; it reserves
// a slot on validator-0's circuit relay, wins the lease, takes the tenant's manifest and serves.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { netnsUnavailable, devnetKill, devnetStart } from '../../src/node/devnet.ts'
import { runSouk } from '../helpers/cli.ts'
import type { CliResult } from '../helpers/cli.ts'

const docker = dockerFromEnv()
const why = docker == null ? 'no Docker engine' : await netnsUnavailable({ nat: true })

const souk = (args: string[], timeoutMs = 180_000): CliResult => runSouk(args, timeoutMs)
const reachability = (home: string): string | undefined => { try { return JSON.parse(souk(['--home', home, 'node', 'status', '--json']).out).reachability } catch { return undefined } }

async function until (what: string, ok: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!await ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

if (why != null) {
  if (docker == null) skipNotice('test/e2e/wan-nat-devnet.test.ts')
  else process.stdout.write(`skipped test/e2e/wan-nat-devnet.test.ts: ${why}\n  Total:     1\n  Passed:    0\n  Skipped:   1\n`)
} else {
  const dir = mkdtempSync(join(tmpdir(), 'souk-wan-nat-'))
  let up = false

  test.after(() => {
    if (up) souk(['devnet', 'down', '--dir', dir])
    rmSync(dir, { recursive: true, force: true })
  })

  test('--nat without --netns is refused before anything starts', () => {
    const r = souk(['devnet', 'up', '--dir', join(dir, 'bad'), '--nat'])
    assert.is.not(r.code, 0)
    assert.match(r.err, /a provider behind NAT needs the nodes in network namespaces: add --netns/)
  })

  test('devnet up --netns --nat --wan continents: the provider behind NAT is reached through the relay and serves', async () => {
    const r = souk(['devnet', 'up', '--dir', dir, '--providers', '1', '--netns', '--nat', '--wan', 'continents', '--wan-seed', '3'])
    up = true
    assert.is(r.code, 0, r.out + r.err)
    assert.match(r.out, /provider-0 is behind NAT at 10\.78\.0\.2: reached through the relay on validator-0/)
    const state = JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8'))
    const provider = state.nodes.find((n: any) => n.name === 'provider-0')
    const tenant = state.nodes.find((n: any) => n.name === 'tenant')
    const relay = state.nodes.find((n: any) => n.name === 'validator-0')

    // nothing outside the NAT can open a connection to the provider's own address, not even a
    // peer on the router's network that routes the private subnet through it: the router
    // forwards inbound only replies to what the inside opened
    const tryDial = (): number | null => spawnSync('ip', ['netns', 'exec', tenant.netns, 'timeout', '5', 'bash', '-c', `echo > /dev/tcp/${String(provider.ip)}/4001`], { encoding: 'utf8' }).status
    assert.is.not(tryDial(), 0, 'a direct dial from the tenant into the private network fails')
    spawnSync('ip', ['-n', tenant.netns, 'route', 'add', '10.78.0.0/24', 'via', '10.77.0.254'])
    assert.is.not(tryDial(), 0, 'a dial routed through the NAT router is dropped')
    spawnSync('ip', ['-n', tenant.netns, 'route', 'del', '10.78.0.0/24'])

    // the provider knows it is reachable only through the relay, and says where
    const ps = JSON.parse(souk(['--home', provider.home, 'node', 'status', '--json']).out)
    assert.is(ps.reachability, 'relayed')
    assert.ok((ps.addresses as string[]).some((a) => a.startsWith(`/ip4/${String(relay.ip)}/tcp/4001/p2p/${String(relay.peerId)}/p2p-circuit`)), ps.addresses.join(' '))

    const dep = souk(['--home', tenant.home, 'deploy', 'examples/web.yaml'])
    assert.is(dep.code, 0, dep.out + dep.err)
    for (const step of ['published', 'lease final', 'manifest accepted', 'services running']) assert.match(dep.out, new RegExp(step))
    assert.match(dep.out, new RegExp(`lease final: provider …${String(provider.peerId).slice(-8)}`))
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(dep.out)?.[0]
    assert.ok(url != null, dep.out)
    assert.match(await fetch(url!).then(async (x) => await x.text()), /hello from souk/)

    // the relay restarts: the provider loses its slot and takes one again on its own
    await devnetKill(dir, 'validator-0', 'SIGKILL')
    await until('the provider to lose its relayed address', async () => reachability(provider.home) !== 'relayed', 30_000)
    await devnetStart(dir, 'validator-0')
    await until('the provider to hold a slot on the restarted relay', async () => reachability(provider.home) === 'relayed', 90_000)
  })

  test.run()
}
