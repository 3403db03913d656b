// Reachability across a real NAT, built from network namespaces: a "public" network (11.0.0.0/24,
// addresses libp2p treats as public; the namespaces have no route off the machine) and a private
// 10.0.0.0/24 behind a router that masquerades it, so nothing on the public side can open a
// connection to the private one.
//
//   tenant 11.0.0.1 ─┬─ relay 11.0.0.3 (the switch)
//                    └─ 11.0.0.2 router (NAT) 10.0.0.1 ── provider 10.0.0.2
//
// AutoNAT: the tenant's public listen address is announced only once a peer has dialled it back.
// A node whose public port refuses inbound connections never announces it. Relay and DCUtR: the
// provider reserves a slot on the relay, the tenant reaches it through the relay, and DCUtR then
// upgrades that to a direct connection, which the provider opens out through its NAT to the
// tenant's now-verified address. (TCP hole punching between two NATed nodes is a different matter:
// see docs/provider.md, "Behind NAT".)
// Needs root, iproute2 and iptables, and a kernel with veth, bridge and NAT; without them the
// suite says so and skips, leaving nothing behind.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { waitFor } from './helpers.ts'

const fixture = fileURLToPath(new URL('./fixtures/nat-node.ts', import.meta.url))

function canBuild (): boolean {
  if (process.getuid?.() !== 0) return false
  return spawnSync('ip', ['netns', 'list']).status === 0 && spawnSync('iptables', ['--version']).status === 0
}

interface Remote { ask: (cmd: object, ms?: number) => Promise<any>, proc: ChildProcessWithoutNullStreams }

function remote (ns: string): Remote {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, fixture], { stdio: ['pipe', 'pipe', 'pipe'] })
  const waiting: Array<(v: any) => void> = []
  createInterface({ input: proc.stdout }).on('line', (l) => { waiting.shift()?.(JSON.parse(l)) })
  proc.stderr.on('data', (d) => { if (process.env.SOUK_TEST_DEBUG != null) process.stderr.write(d) })
  return {
    proc,
    ask: async (cmd, ms = 20_000) => {
      const answer = new Promise<any>((resolve) => { waiting.push(resolve) })
      proc.stdin.write(JSON.stringify(cmd) + '\n')
      const r = await Promise.race([answer, new Promise((resolve) => setTimeout(() => { resolve({ error: `no answer to ${JSON.stringify(cmd)} within ${ms} ms` }) }, ms))])
      if (r?.error != null) throw new Error(r.error)
      return r
    }
  }
}

if (!canBuild()) {
  process.stdout.write('skipped test/net/nat.test.ts: needs root, iproute2 and iptables to build namespaces and a NAT\n  Total:     1\n  Passed:    0\n  Skipped:   1\n')
} else {
  const s = randomBytes(2).toString('hex')
  const pub = `souk-pub-${s}` // the tenant's host
  const rel = `souk-rel-${s}` // the relay's host, with the public network's switch
  const rtr = `souk-rtr-${s}` // the NAT router
  const priv = `souk-priv-${s}` // the provider's host
  const all = [pub, rel, rtr, priv]
  const sh = (...args: string[]): void => { execFileSync(args[0], args.slice(1), { stdio: 'pipe' }) }
  const inNs = (ns: string, ...args: string[]): void => { sh('ip', 'netns', 'exec', ns, ...args) }
  const remotes: Remote[] = []
  const start = (ns: string): Remote => { const r = remote(ns); remotes.push(r); return r }
  /** a veth pair with one end in each namespace */
  const wire = (a: string, aNs: string, b: string, bNs: string): void => {
    sh('ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b)
    sh('ip', 'link', 'set', a, 'netns', aNs)
    sh('ip', 'link', 'set', b, 'netns', bNs)
    sh('ip', '-n', aNs, 'link', 'set', a, 'up')
    sh('ip', '-n', bNs, 'link', 'set', b, 'up')
  }

  /** builds the topology; on failure removes what it made and says why */
  const build = (): string | undefined => {
    try {
      buildTopology()
      return undefined
    } catch (err: any) {
      for (const ns of all) spawnSync('ip', ['netns', 'del', ns])
      for (const l of [`t${s}`, `w${s}`, `l${s}`]) spawnSync('ip', ['link', 'del', l])
      return String(err?.stderr ?? err?.message ?? err).trim().split('\n')[0]
    }
  }
  const buildTopology = (): void => {
    for (const ns of all) { sh('ip', 'netns', 'add', ns); sh('ip', '-n', ns, 'link', 'set', 'lo', 'up') }
    // the public network: a switch in the relay's namespace, the tenant and the router's WAN side on it
    sh('ip', '-n', rel, 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', '-n', rel, 'link', 'set', 'br0', 'up')
    sh('ip', '-n', rel, 'addr', 'add', '11.0.0.3/24', 'dev', 'br0')
    wire(`t${s}`, pub, `tp${s}`, rel)
    wire(`w${s}`, rtr, `wp${s}`, rel)
    sh('ip', '-n', rel, 'link', 'set', `tp${s}`, 'master', 'br0')
    sh('ip', '-n', rel, 'link', 'set', `wp${s}`, 'master', 'br0')
    sh('ip', '-n', pub, 'addr', 'add', '11.0.0.1/24', 'dev', `t${s}`)
    sh('ip', '-n', rtr, 'addr', 'add', '11.0.0.2/24', 'dev', `w${s}`)
    // the private network behind the router, which masquerades it
    wire(`l${s}`, rtr, `p${s}`, priv)
    sh('ip', '-n', rtr, 'addr', 'add', '10.0.0.1/24', 'dev', `l${s}`)
    sh('ip', '-n', priv, 'addr', 'add', '10.0.0.2/24', 'dev', `p${s}`)
    sh('ip', '-n', priv, 'route', 'add', 'default', 'via', '10.0.0.1')
    inNs(rtr, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
    inNs(rtr, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', `w${s}`, '-j', 'MASQUERADE')
  }

  const failed = build()
  if (failed != null) {
    process.stdout.write(`skipped test/net/nat.test.ts: could not build the namespaces and NAT here (${failed})\n  Total:     2\n  Passed:    0\n  Skipped:   2\n`)
  } else {
    test.after(async () => {
      await Promise.allSettled(remotes.map(async (r) => { try { await r.ask({ op: 'stop' }, 5000) } catch {} r.proc.kill() }))
      for (const ns of all) spawnSync('ip', ['netns', 'del', ns])
    })

    test('AutoNAT, relay and DCUtR across a NAT', async () => {
      const relay = start(rel)
      const r = await relay.ask({ op: 'start', config: { listen: ['/ip4/11.0.0.3/tcp/4001'], announce: ['/ip4/11.0.0.3/tcp/4001'], relay: { server: true } } })
      const relayAddr = `/ip4/11.0.0.3/tcp/4001/p2p/${String(r.peerId)}`

      // the provider: a private address behind the NAT, a slot on the relay
      const provider = start(priv)
      const p = await provider.ask({ op: 'start', config: { listen: ['/ip4/10.0.0.2/tcp/0'], relay: { reserveOn: [relayAddr] } } })
      let circuit = ''
      assert.ok(await waitFor(async () => {
        circuit = ((await provider.ask({ op: 'addrs' })).addrs as string[]).find((a) => a.includes('/p2p-circuit')) ?? ''
        return circuit !== ''
      }, 15_000), 'the provider made a reservation on the relay')
      // nothing on the public side can reach 10.0.0.2: the relay is the only way in
      const probe = start(pub)
      await probe.ask({ op: 'start', config: { listen: ['/ip4/11.0.0.1/tcp/0'], autonat: false, dcutr: false } })
      const direct = (p.addrs as string[]).find((a) => a.startsWith('/ip4/10.0.0.2/'))!
      let refused = ''
      try { await probe.ask({ op: 'dial', addr: direct }, 20_000) } catch (err: any) { refused = String(err.message) }
      assert.ok(refused !== '', 'a direct dial into the private network fails')

      // the tenant: a public address that AutoNAT must confirm before it is announced
      const tenant = start(pub)
      const t = await tenant.ask({ op: 'start', config: { listen: ['/ip4/11.0.0.1/tcp/4002'] } })
      assert.not.ok((t.addrs as string[]).some((a) => a.startsWith('/ip4/11.0.0.1/tcp/4002')), `not announced before it is verified: ${t.addrs.join(' ')}`)
      await tenant.ask({ op: 'dial', addr: relayAddr })
      assert.ok(await waitFor(async () => ((await tenant.ask({ op: 'addrs' })).addrs as string[]).some((a) => a.startsWith('/ip4/11.0.0.1/tcp/4002')), 15_000),
        'AutoNAT: the relay dialled the tenant back and the tenant now announces its public address')
      assert.is((await tenant.ask({ op: 'addrs' })).reachability, 'public')
      assert.is((await provider.ask({ op: 'addrs' })).reachability, 'relayed', 'the provider knows it is reachable through the relay only')

      // the tenant reaches the provider through the relay; DCUtR makes it direct
      const via = await tenant.ask({ op: 'dial', addr: circuit })
      assert.ok(String(via.remoteAddr).includes('/p2p-circuit'), `first through the relay: ${String(via.remoteAddr)}`)
      let conns: string[] = []
      assert.ok(await waitFor(async () => {
        conns = (await tenant.ask({ op: 'connections', peer: p.peerId })).connections
        return conns.some((a) => !a.includes('/p2p-circuit'))
      }, 20_000), `DCUtR: a direct connection to the provider (connections: ${conns.join(' ')})`)
      // the direct connection arrived from the NAT's public address, opened from inside
      assert.ok(conns.some((a) => a.startsWith('/ip4/11.0.0.2/tcp/')), `the provider dialled out through its NAT: ${conns.join(' ')}`)
      assert.ok(await waitFor(async () => ((await tenant.ask({ op: 'connections', peer: p.peerId })).connections as string[]).every((a) => !a.includes('/p2p-circuit')), 10_000),
        'the relayed connection was closed once the direct one was up')
    })

    test('AutoNAT: a public address that refuses inbound connections is never announced', async () => {
      // port 4003 on the public side answers every connection attempt with a reset
      inNs(pub, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '4003', '--tcp-flags', 'SYN,ACK,FIN,RST', 'SYN', '-s', '11.0.0.3', '-j', 'REJECT', '--reject-with', 'tcp-reset')
      const relay = start(rel)
      const r = await relay.ask({ op: 'start', config: { listen: ['/ip4/11.0.0.3/tcp/4004'], announce: ['/ip4/11.0.0.3/tcp/4004'] } })
      const walled = start(pub)
      await walled.ask({ op: 'start', config: { listen: ['/ip4/11.0.0.1/tcp/4003'] } })
      await walled.ask({ op: 'dial', addr: `/ip4/11.0.0.3/tcp/4004/p2p/${String(r.peerId)}` })
      // long enough for the dial-back to have been tried and refused
      await new Promise((resolve) => setTimeout(resolve, 4000))
      const addrs = (await walled.ask({ op: 'addrs' })).addrs as string[]
      assert.not.ok(addrs.some((a) => a.startsWith('/ip4/11.0.0.1/tcp/4003')), `still not announced: ${addrs.join(' ')}`)
      assert.is.not((await walled.ask({ op: 'addrs' })).reachability, 'public')
    })

    test.run()
  }
}
