// The devnet on an emulated wide-area network: every node dials through the `continents` profile
// (five regions, real inter-region round trips), and a deployment is still ordered, decided,
// handed over and served. The round trips the tenant measures show the emulation is in the path.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerFromEnv, skipNotice } from '../helpers/docker.ts'
import { regionRttMs } from '../../src/net/wan/index.ts'
import { runSouk } from '../helpers/cli.ts'
import type { CliResult } from '../helpers/cli.ts'

const docker = dockerFromEnv()

const souk = (args: string[], timeoutMs = 180_000): CliResult => runSouk(args, timeoutMs)

if (docker == null) {
  skipNotice('test/e2e/wan-devnet.test.ts')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'souk-wan-devnet-'))
  let up = false

  test.after(() => {
    if (up) souk(['devnet', 'down', '--dir', dir])
    rmSync(dir, { recursive: true, force: true })
  })

  test('a bad profile or seed is refused before anything starts', () => {
    const bad = souk(['devnet', 'up', '--dir', join(dir, 'bad'), '--wan', 'mars'])
    assert.is.not(bad.code, 0)
    assert.match(bad.err, /WAN profile "mars" is not one of lan, continents, lossy/)
    const seed = souk(['devnet', 'up', '--dir', join(dir, 'bad'), '--wan', 'continents', '--wan-seed', 'x'])
    assert.is.not(seed.code, 0)
    assert.match(seed.err, /--wan-seed must be a whole number, not "x"/)
  })

  test('devnet up --wan continents: deploy the web example and fetch it', async () => {
    const r = souk(['devnet', 'up', '--dir', dir, '--providers', '1', '--wan', 'continents', '--wan-seed', '7'])
    up = true
    assert.is(r.code, 0, r.out + r.err)
    assert.match(r.out, /emulated WAN continents \(seed 7\): validator-0 us-east, validator-1 us-west, validator-2 eu-central, validator-3 ap-northeast, provider-0 sa-east, tenant us-east/)
    const state = JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8'))
    assert.equal(state.wan, { profile: 'continents', seed: 7 })
    // what each node was told: its region and every listener's
    const yaml = readFileSync(join(dir, 'tenant', 'souk.yaml'), 'utf8')
    assert.match(yaml, /wan:\n {4}profile: continents\n {4}seed: 7\n {4}region: us-east\n {4}peers: \{ "127\.0\.0\.1:\d+": us-east/)

    const dep = souk(['--home', join(dir, 'tenant'), 'deploy', 'examples/web.yaml'])
    assert.is(dep.code, 0, dep.out + dep.err)
    for (const step of ['published', 'lease final', 'manifest accepted', 'services running']) assert.match(dep.out, new RegExp(step))
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(dep.out)?.[0]
    assert.ok(url != null, dep.out)
    assert.match(await fetch(url!).then(async (x) => await x.text()), /hello from souk/)

    // the tenant (us-east) asks every peer, validator-3 in ap-northeast among them: its longest
    // round trip is at least that path's (145 ms, less the jitter), far above loopback's
    const st = souk(['--home', join(dir, 'tenant'), 'node', 'status', '--json'])
    const clock = JSON.parse(st.out).health.checks.find((c: any) => c.name === 'clock')
    const m = /round trips (\d+)(?:–(\d+))? ms/.exec(String(clock?.detail))
    assert.ok(m != null, JSON.stringify(clock))
    const longest = Number(m![2] ?? m![1])
    assert.ok(longest >= 0.9 * regionRttMs('us-east', 'ap-northeast'), `longest round trip ${longest} ms`)
  })
}

test.run()
